"""Datasets, the concept graph and the synthetic concept world."""
