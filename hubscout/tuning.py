"""Tuned parameters as artefacts: what a benchmark stage chose on its tuning data, typed and
versioned by content, published to the registry beside the specifications they go with.

Queries read these, never a report: reports are rounded for people, these keep full
precision. Each kind is current per hub version, like a benchmark summary.
"""

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hubscout.errors import ConfigError


class _Tuned(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    chosen_on: str  # the tuning data that chose the values (never data a report scores)

    @property
    def version(self) -> str:
        """The content hash of the values and what chose them."""
        document = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(document.encode()).hexdigest()


class EncoderChoice(_Tuned):
    """The VLMs whose image towers embed the generator and the RKME specifications, and the
    style weight of the generator descriptors."""

    kind: Literal["encoders"] = "encoders"
    reference_encoder: str
    style_weight: float = Field(ge=0, le=1)
    rkme_encoder: str


class PmiTuning(_Tuned):
    """PMI's temperatures and kernel bandwidth."""

    kind: Literal["pmi"] = "pmi"
    image_temperature: float = Field(gt=0)
    text_temperature: float = Field(gt=0)
    bandwidth: float = Field(gt=0)


class OpenSetTuning(_Tuned):
    """P(from the hub | score) = expit(slope * score + intercept) for generator scores (at
    the open set's own bandwidth) or RKME scores (minus the smallest MMD^2)."""

    kind: Literal["generator_open_set", "rkme_open_set"]
    slope: float
    intercept: float
    bandwidth: float | None = Field(default=None, gt=0)  # generators only


class AccuracyTuning(_Tuned):
    """The selection answer's accuracy predictor (hubscout.selection.accuracy)."""

    kind: Literal["accuracy_model"] = "accuracy_model"
    coefficients: tuple[float, float, float]


Tuned = Annotated[
    EncoderChoice | PmiTuning | OpenSetTuning | AccuracyTuning, Field(discriminator="kind")
]
_TUNED_LIST = TypeAdapter(list[Tuned])


def parse_tuned(document: object, where: str) -> list[Tuned]:
    """Tuned parameters from a JSON document (a list of objects with a `kind`), or a
    ConfigError that names `where` they came from."""
    try:
        return _TUNED_LIST.validate_python(document)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise ConfigError(
            f"tuned parameters in {where} are invalid ({details}): run the stage that wrote them"
        ) from error


def write_tuned(path: Path, tuned: list[Tuned]) -> None:
    """Write tuned parameters as one JSON list (a stage's output, versioned by DVC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    documents = [item.model_dump(mode="json") for item in tuned]
    path.write_text(json.dumps(documents, indent=2, sort_keys=True) + "\n")


def read_tuned(path: Path) -> list[Tuned]:
    """The tuned parameters a stage wrote, or none where it has not run."""
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not JSON ({error}): run its stage again") from error
    return parse_tuned(document, str(path))
