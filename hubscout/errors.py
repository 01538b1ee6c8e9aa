"""Typed errors a user can cause. Each message says what went wrong and what to do.

The CLI prints them as one line; the registry service maps them to 4xx answers.
"""


class HubscoutError(Exception):
    """Base of every error a user can cause and fix."""


class SourceError(HubscoutError):
    """A model source URI that cannot be loaded."""


class UnknownSchemeError(SourceError):
    """The URI's scheme (the part before ':') has no loader."""


class UnknownArchitectureError(SourceError):
    """The architecture named in the URI is not known to the loader."""


class CheckpointMissingError(SourceError):
    """The checkpoint file named in the URI does not exist."""


class CorruptCheckpointError(SourceError):
    """The checkpoint file is truncated or not a checkpoint at all."""


class UnsafeCheckpointError(SourceError):
    """The checkpoint would need arbitrary code execution (pickled objects) to load."""


class WeightsMismatchError(SourceError):
    """The checkpoint's weights do not fit the architecture."""


class NetworkRequiredError(SourceError):
    """The source needs weights from the network, which this machine cannot reach."""


class DatasetError(HubscoutError):
    """An image dataset that cannot be read or is not usable."""


class ConfigError(HubscoutError):
    """Settings or parameters that are invalid."""


class TransferabilityInputError(HubscoutError):
    """Features, labels or source probabilities that a transferability metric cannot score."""
