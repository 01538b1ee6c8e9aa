"""The registry: the hub's state (models, their status, published label versions) in SQL."""
