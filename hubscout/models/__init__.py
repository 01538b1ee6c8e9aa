"""Model loaders behind a registry of source-URI schemes, and one interface per model kind."""

from hubscout.models.base import Generator, HubModel, ImageClassifier, VisionLanguageModel
from hubscout.models.sources import load_model, parse_source

__all__ = [
    "Generator",
    "HubModel",
    "ImageClassifier",
    "VisionLanguageModel",
    "load_model",
    "parse_source",
]
