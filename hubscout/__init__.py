"""hubscout: keeps a hub of pre-trained models labeled and selects models for a task."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hubscout")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
