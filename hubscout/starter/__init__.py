"""The starter hub: tiny VLMs, classifiers and generators trained on slices of the world."""
