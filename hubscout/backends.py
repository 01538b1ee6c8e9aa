"""What answers the CLI's queries (select, rank, identify), behind one interface: a running
registry over HTTP (`RemoteBackend`), or the registry database read in this process
(`LocalBackend`, no service needed). Both return the documents the service's routes return."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hubscout.errors import ConfigError
from hubscout.settings import DEFAULT_REGISTRY_URL, Settings

if TYPE_CHECKING:
    from registry.client import RegistryClient


class QueryBackend(Protocol):
    """The queries a user asks the hub."""

    def select(self, request: dict[str, Any]) -> dict[str, Any]:
        """The /select answer for a request of class names and constraints."""
        ...

    def rank(self, task: str, metrics: str, kind: str) -> dict[str, Any]:
        """The /rank answer for a labeled dataset (or, locally, a world task)."""
        ...

    def identify(self, images: list[Path], prompt: str | None, kind: str) -> dict[str, Any]:
        """The /identify answer for example image files."""
        ...


def registry_client(registry: str | None, settings: Settings) -> "RegistryClient":
    """A client of the registry at `registry` (else HUBSCOUT_REGISTRY_URL, else the default
    URL), with the configured token."""
    from registry.client import RegistryClient

    token = settings.registry_token.get_secret_value() if settings.registry_token else None
    return RegistryClient(registry or settings.registry_url or DEFAULT_REGISTRY_URL, token)


class RemoteBackend:
    """Queries answered by a running registry service."""

    def __init__(self, client: "RegistryClient") -> None:
        self.client = client

    def select(self, request: dict[str, Any]) -> dict[str, Any]:
        """POST /select."""
        return self.client.select(request)

    def rank(self, task: str, metrics: str, kind: str) -> dict[str, Any]:
        """POST /rank with the dataset file `task` (an .npz or a .zip of class folders)."""
        path = Path(task)
        if not path.is_file() or path.suffix not in (".npz", ".zip"):
            raise ConfigError(f"with --registry, give an .npz or a .zip of class folders: {task}")
        return self.client.rank(path, metrics, kind)

    def identify(self, images: list[Path], prompt: str | None, kind: str) -> dict[str, Any]:
        """POST /identify with the example files."""
        if not images:
            raise ConfigError("no example images given: pass one or more PNG/JPEG files")
        return self.client.identify(images, prompt, kind)


class LocalBackend:
    """Queries answered from the registry database's current hub version, in this process."""

    def __init__(self, settings: Settings) -> None:
        from registry.index import HubIndex
        from registry.store import RegistryStore

        self.settings = settings
        self.store = RegistryStore(settings.registry_database_url)
        self.index = HubIndex(self.store, settings)

    def close(self) -> None:
        """Close the database connections."""
        self.store.close()

    def select(self, request: dict[str, Any]) -> dict[str, Any]:
        """What /select answers, from the selection index built here: the request is read
        with the service's own schema, so both accept the same requests and defaults."""
        from pydantic import ValidationError

        from hubscout.selection.answer import Constraints, select_models
        from hubscout.selection.requirements import RequirementError, TaskSpec
        from registry.schemas import SelectRequest

        try:
            body = SelectRequest.model_validate(request)
            task = TaskSpec(class_names=body.class_names, descriptions=body.descriptions)
        except ValidationError as error:
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
            raise RequirementError(f"invalid task {request['class_names']}: {reason}") from error
        constraints = Constraints(body.kind, body.max_params, tuple(body.licenses))
        _, index = self.index.current()
        return select_models(task, index, k=body.k, constraints=constraints).document(body.top)

    def rank(self, task: str, metrics: str, kind: str) -> dict[str, Any]:
        """What /rank answers, for a world task or a labeled dataset file or folder."""
        from hubscout.data.store import World
        from hubscout.queries import ranking_answer, registered_loader
        from hubscout.transferability.hub import labeled_dataset, leaf_names
        from hubscout.transferability.suite import parse_metrics

        names = parse_metrics(metrics)
        world = World(self.settings.layout.world)
        dataset = labeled_dataset(world, task)
        cache, load = self.settings.cache_dir, registered_loader(self.settings.layout.hub_manifest)
        return ranking_answer(
            dataset, self.index.hub(), kind, names, cache, leaf_names(world), load
        )

    def identify(self, images: list[Path], prompt: str | None, kind: str) -> dict[str, Any]:
        """What /identify answers, for example image files."""
        from hubscout.identification.examples import read_examples
        from hubscout.queries import identification_answer, registered_loader

        load = registered_loader(self.settings.layout.hub_manifest)
        return identification_answer(read_examples(images), self.index.hub(), kind, load, prompt)


@contextmanager
def query_backend(registry: str | None, settings: Settings) -> Iterator[QueryBackend]:
    """The registry service at `registry` (or HUBSCOUT_REGISTRY_URL) when one is given, else
    the local registry database; closed on exit."""
    if registry or settings.registry_url:
        with registry_client(registry, settings) as client:
            yield RemoteBackend(client)
        return
    local = LocalBackend(settings)
    try:
        yield local
    finally:
        local.close()
