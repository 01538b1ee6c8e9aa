"""The hub as query-time code sees it: one consistent snapshot of the registry.

Selection, ranking, identification and reuse take their candidate models from a `Hub`: the
ready models with their card metadata, their current labels, the identification and RKME
specifications, the benchmark summaries, the tuned parameters and the hub version the
snapshot was read at. The registry builds it (`registry.store.RegistryStore.hub`); nothing
here touches a database, a manifest or the network.
"""

from dataclasses import dataclass, field

import polars as pl

from hubscout.errors import HubscoutError
from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from hubscout.tuning import AccuracyTuning, Tuned

LABEL_COLUMNS = ("model_id", "node_id", "metric", "value", "label_version")


class EmptyHubError(HubscoutError):
    """The hub holds no ready model that a query could use."""


@dataclass(frozen=True)
class HubEntry:
    """A model of the hub and what its card says."""

    name: str
    source: str
    kind: str
    content_hash: str
    status: str
    license: str = "unknown"
    tags: tuple[str, ...] = ()
    parameters: int | None = None
    class_names: tuple[str, ...] = ()
    label_version: str | None = None


@dataclass(frozen=True)
class Hub:
    """A snapshot of the hub at `version`: models of every status, query data of ready ones."""

    version: int
    models: dict[str, HubEntry]
    labels: pl.DataFrame  # LABEL_COLUMNS rows of the ready models' current labels
    generator_specs: dict[str, GeneratorSpecification] = field(default_factory=dict)
    rkme_specs: dict[str, RKME] = field(default_factory=dict)
    reference_encoder: str | None = None  # the VLM that embedded the generator specifications
    rkme_encoder: str | None = None  # the VLM that embedded the RKME specifications
    benchmarks: dict[str, dict] = field(default_factory=dict)  # name -> published summary
    tuned: dict[str, Tuned] = field(default_factory=dict)  # kind -> current tuned parameters

    def ready(self, kind: str | None = None) -> list[HubEntry]:
        """The ready models (of `kind`), by name."""
        return [
            model
            for name, model in sorted(self.models.items())
            if model.status == "ready" and (kind is None or model.kind == kind)
        ]

    def ready_model(self, name: str) -> HubEntry:
        """A ready model, or an EmptyHubError naming the ready ones."""
        model = self.models.get(name)
        if model is None or model.status != "ready":
            ready = ", ".join(m.name for m in self.ready()) or "none"
            raise EmptyHubError(
                f"model {name!r} is not ready in hub version {self.version}: {ready}"
            )
        return model

    def accuracy_coefficients(self) -> tuple[float, float, float] | None:
        """The accuracy predictor's coefficients the selection benchmark tuned, if published."""
        tuned = self.tuned.get("accuracy_model")
        return tuned.coefficients if isinstance(tuned, AccuracyTuning) else None
