"""Prefect tasks: thin, side-effectful units around the core library (Ray, MLflow, GX, files)."""
