"""Model cards: the JSON metadata that sits beside a checkpoint (`<stem>.card.json`).

A card is optional for open_clip checkpoints; for classifiers it names the source classes.
Cards are read with pydantic, never unpickled.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hubscout.errors import ConfigError


class ModelCard(BaseModel):
    """What a hub keeps about a model besides its weights."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["vlm", "classifier", "generator"]
    architecture: str
    source: str = Field(description="The URI that loads the model, e.g. timm:resnet18@w.pt")
    source_classes: list[str] | None = None
    image_size: int | None = Field(default=None, gt=0)
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    parameters: int | None = Field(default=None, ge=0)
    training_slice: str = ""
    seed: int | None = None
    license: str = "unknown"
    tags: list[str] = Field(default_factory=list)
    training_fingerprint: str | None = Field(
        default=None, description="Hash of what determined the weights (set by the hub build)."
    )
    metrics: dict[str, float] = Field(default_factory=dict)
    class_to_node: dict[str, str] = Field(
        default_factory=dict, description="Explicit source-class -> concept-node mapping."
    )
    training_sample: str | None = Field(
        default=None,
        pattern=r"^[^/\\]+\.npz$",
        description="An .npz beside the checkpoint with an 'images' array (uint8 [N, H, W, 3]) "
        "drawn from the training data: what the model's RKME specification summarises.",
    )


def card_path(checkpoint: Path) -> Path:
    """Where the card of `checkpoint` lives: `<dir>/<stem>.card.json`."""
    return checkpoint.with_name(f"{checkpoint.stem}.card.json")


def read_card(checkpoint: Path) -> ModelCard | None:
    """The card beside `checkpoint`, or None when there is none."""
    path = card_path(checkpoint)
    if not path.is_file():
        return None
    try:
        return ModelCard.model_validate_json(path.read_text())
    except ValidationError as error:
        raise ConfigError(f"model card {path} is invalid: {error.errors()[0]['msg']}") from error


def write_card(checkpoint: Path, card: ModelCard) -> Path:
    """Write `card` beside `checkpoint` and return its path."""
    path = card_path(checkpoint)
    path.write_text(card.model_dump_json(indent=2) + "\n")
    return path
