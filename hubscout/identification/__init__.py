"""Identification: find the right model from a few example images."""
