"""The registry's typed errors (the service answers them as 400, 404 and 409)."""

from hubscout.errors import HubscoutError


class RegistryError(HubscoutError):
    """A registry request that cannot be carried out."""


class RegistryConflictError(RegistryError):
    """A request that contradicts what the registry holds (a name taken by another source)."""


class UnknownModelError(RegistryError):
    """A model name the registry does not hold."""
