"""Composed reuse pipelines: a trained pathway saved with everything it needs to predict, as
one hub model of kind `pipeline` (`pipeline:<folder>`).

A pipeline folder holds pipeline.json (the format, the task and its class names, k, and each
member model's source URI and content hash) and weights.safetensors (the router, the heads
and every standardisation). Loading loads the members through their URIs and refuses one
whose weights changed since the pipeline was saved, since the heads were fitted to its
features. The pipeline's content hash is the SHA-256 of both files, so a retrained pipeline
is a new version.
"""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field, ValidationError
from safetensors.torch import save_file

from hubscout.errors import ConfigError, SourceError
from hubscout.models.base import HubModel, ImageEncoder, check_image_batch
from hubscout.models.checkpoints import load_weights, read_state_dict
from hubscout.models.sources import load_model
from hubscout.pathway.model import PathwayNetwork, predict, router_input

PIPELINE_FORMAT = "hubscout-pipeline-v1"
MANIFEST = "pipeline.json"
WEIGHTS = "weights.safetensors"


class StaleMemberError(SourceError):
    """A member model's weights changed since the pipeline was trained on its features."""


class Member(BaseModel):
    """A hub model the pipeline runs."""

    name: str
    source: str
    content_hash: str
    feature_dim: int = Field(gt=0)


class PipelineManifest(BaseModel):
    """pipeline.json."""

    format: str
    task: str
    class_names: list[str] = Field(min_length=2)
    k: int = Field(gt=0)
    members: list[Member] = Field(min_length=1)


class ReusePipeline(HubModel):
    """A loaded pipeline: images in, the task's class probabilities out, running only the k
    members the pathway picks for each image."""

    kind = "pipeline"

    def __init__(
        self,
        source: str,
        content_hash: str,
        manifest: PipelineManifest,
        members: Sequence[ImageEncoder],
        network: PathwayNetwork,
    ) -> None:
        super().__init__(source, content_hash, torch.device("cpu"))
        self.manifest, self.members, self.network = manifest, list(members), network.eval()

    @property
    def class_names(self) -> list[str]:
        """The task's classes, in the order of the probability columns."""
        return list(self.manifest.class_names)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """p(class | image) [N, C] (float64) of uint8 images [N, H, W, 3]."""
        check_image_batch(images)
        probabilities, _ = self.route(images)
        return probabilities

    def route(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The probabilities and the gates [N, M] (which members ran for which image)."""
        return predict(
            self.network,
            router_input(images),
            lambda m, rows: self.members[m].image_features(images[rows]),
        )


def save_pipeline(
    folder: Path,
    task: str,
    class_names: Sequence[str],
    members: Sequence[ImageEncoder],
    member_names: Sequence[str],
    network: PathwayNetwork,
) -> Path:
    """Write a pipeline folder (replacing the files of an earlier one); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = PipelineManifest(
        format=PIPELINE_FORMAT,
        task=task,
        class_names=list(class_names),
        k=network.k,
        members=[
            Member(
                name=name,
                source=model.source,
                content_hash=model.content_hash,
                feature_dim=network.heads[m].in_features,
            )
            for m, (name, model) in enumerate(zip(member_names, members, strict=True))
        ],
    )
    weights = {key: value.detach().contiguous() for key, value in network.state_dict().items()}
    partial = folder / f"{WEIGHTS}.partial"
    save_file(weights, str(partial))
    partial.replace(folder / WEIGHTS)
    (folder / MANIFEST).write_text(manifest.model_dump_json(indent=1) + "\n")
    return folder


def pipeline_hash(folder: Path) -> str:
    """SHA-256 over the manifest and the weights: the pipeline's version."""
    digest = hashlib.sha256()
    for name in (MANIFEST, WEIGHTS):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def read_manifest(folder: Path) -> PipelineManifest:
    """A pipeline folder's validated manifest."""
    path = folder / MANIFEST
    if not path.is_file() or not (folder / WEIGHTS).is_file():
        raise SourceError(
            f"{folder} is not a pipeline folder ({MANIFEST} and {WEIGHTS}): "
            "train one with `hubscout pathway train <task>`"
        )
    try:
        manifest = PipelineManifest.model_validate(json.loads(path.read_text()))
    except (ValidationError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path} is invalid ({error}): train the pipeline again") from error
    if manifest.format != PIPELINE_FORMAT:
        raise ConfigError(f"{path} has format {manifest.format!r}; this hubscout reads "
                          f"{PIPELINE_FORMAT}: train the pipeline again")  # fmt: skip
    return manifest


def load(rest: str, device: torch.device, hub_manifest: Path | None) -> ReusePipeline:
    """Load `pipeline:<folder>`, with every member through its source URI (a starter member
    through the hub manifest at `hub_manifest`)."""
    folder = Path(rest).expanduser()
    manifest = read_manifest(folder)
    members = []
    for member in manifest.members:
        model = load_model(member.source, device, hub_manifest)
        if not isinstance(model, ImageEncoder):
            raise ConfigError(f"pipeline member {member.name} ({member.source}) has no features")
        if model.content_hash != member.content_hash:
            raise StaleMemberError(
                f"pipeline member {member.name} ({member.source}) changed since the pipeline "
                f"was trained (content hash {model.content_hash[:12]}, trained on "
                f"{member.content_hash[:12]}): train it again with "
                f"`hubscout pathway train {manifest.task}`"
            )
        members.append(model)
    network = PathwayNetwork(
        [m.feature_dim for m in manifest.members], len(manifest.class_names), manifest.k
    )
    load_weights(network, read_state_dict(folder / WEIGHTS), f"pipeline:{folder}")
    return ReusePipeline(f"pipeline:{folder}", pipeline_hash(folder), manifest, members, network)
