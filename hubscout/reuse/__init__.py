"""Reusing selected models on target data without training them."""
