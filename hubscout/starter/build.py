"""Training one starter model and saving it as an ordinary checkpoint with its card.

Each model is saved as `<hub>/<kind>/<name>.safetensors` plus `<name>.card.json`, loadable
through the public loaders (`open_clip:<arch>@<file>`, `timm:<name>@<file>`,
`cvae:<config>@<file>`). A model whose card records the same training fingerprint is not
trained again, so an interrupted build resumes where it stopped.
"""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from pydantic import BaseModel, Field
from safetensors.torch import save_file

from hubscout.data.graph import node_id_of
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.models.cards import ModelCard, read_card, write_card
from hubscout.models.conditional import metadata_for
from hubscout.models.starter_loader import HubManifest, ManifestEntry
from hubscout.starter.catalog import (
    TINY_JUDGE_STEPS,
    ClassifierRecipe,
    GeneratorRecipe,
    VLMRecipe,
    catalog,
)
from hubscout.starter.fidelity import JUDGE_STEPS
from hubscout.starter.training import (
    CLASSIFIER_PREPROCESSING,
    Trained,
    train_classifier,
    train_generator,
    train_vlm,
)

Recipe = VLMRecipe | ClassifierRecipe | GeneratorRecipe
# Bump when the cards or the training written here change, so that saved models are rebuilt
# (3: VLMs trained LiT-style; 4: channels-last, fused AdamW, generators at batch 32; 5: the
# flows' prompt maps).
CARD_FORMAT = 5


class HubParams(BaseModel):
    """The `starter_hub` section of params.yaml."""

    profile: str = "full"
    seed: int = 0
    step_scale: float = Field(default=1.0, gt=0, description="Multiplies every recipe's steps.")
    batch_size: int = Field(default=64, ge=8, description="VLMs' and classifiers' batches.")
    generator_images: int = Field(default=2000, ge=64)
    parallel_jobs: int = Field(default=2, ge=1, description="Models trained at once (Ray).")

    def recipes(self) -> list[Recipe]:
        """Every model recipe of the profile."""
        try:
            vlms, classifiers, generators = catalog(self.profile)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        return [*vlms, *classifiers, *generators]

    def steps(self, recipe: Recipe) -> int:
        """Training steps of `recipe` under this profile (a VLM's text-tower steps)."""
        return max(int(recipe.steps * self.step_scale), 10)

    def image_steps(self, recipe: VLMRecipe) -> int:
        """Supervised image-tower steps of a VLM under this profile."""
        return max(int(recipe.image_steps * self.step_scale), 10)

    def judge_steps(self) -> int:
        """Training steps of the generators' fidelity judge under this profile."""
        steps = JUDGE_STEPS if self.profile == "full" else TINY_JUDGE_STEPS
        return max(int(steps * self.step_scale), 10)


def kind_of(recipe: Recipe) -> str:
    """vlm, classifier or generator."""
    return {VLMRecipe: "vlm", ClassifierRecipe: "classifier", GeneratorRecipe: "generator"}[
        type(recipe)
    ]


def scheme_of(recipe: Recipe) -> str:
    """The source-URI scheme that loads the model."""
    if isinstance(recipe, GeneratorRecipe):
        return recipe.scheme
    return {VLMRecipe: "open_clip", ClassifierRecipe: "timm"}[type(recipe)]


# Seconds a training step takes on one core (docs/decisions.md, The starter hub): they only
# order the jobs and give the ETA.
STEP_SECONDS = {"flow": 0.100, "cvae": 0.026, "classifier": 0.030, "image": 0.035, "text": 0.027}


def expected_seconds(recipe: Recipe, params: HubParams) -> float:
    """About how long `recipe` trains on one core under `params`."""
    if isinstance(recipe, VLMRecipe):
        return (
            params.image_steps(recipe) * STEP_SECONDS["image"]
            + params.steps(recipe) * STEP_SECONDS["text"]
        )
    key = recipe.scheme if isinstance(recipe, GeneratorRecipe) else "classifier"
    return params.steps(recipe) * STEP_SECONDS[key]


def longest_first(recipes: list[Recipe], params: HubParams) -> list[Recipe]:
    """The recipes in the order to train them: the longest first, so that the workers finish
    together on short jobs instead of one waiting while the other trains a flow."""
    return sorted(recipes, key=lambda recipe: -expected_seconds(recipe, params))


def checkpoint_path(hub: Path, recipe: Recipe) -> Path:
    """Where the model's weights go."""
    return hub / kind_of(recipe) / f"{recipe.name}.safetensors"


def fingerprint(recipe: Recipe, params: HubParams, world: World) -> str:
    """Everything that determines the trained weights, hashed."""
    identity = {
        "card_format": CARD_FORMAT,
        "spec": asdict(recipe),  # the key of fingerprints already on disk
        "steps": params.steps(recipe),
        "step_scale": params.step_scale,
        "seed": params.seed,
        "batch_size": params.batch_size,
        "generator_images": params.generator_images,
        "world": world.summary["params"],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def build_model(
    recipe: Recipe, world: World, params: HubParams, hub: Path
) -> tuple[ModelCard, Trained | None]:
    """Train and save one model unless an identical one is saved.

    Returns the card and what training did (None when the saved model was reused). The card
    holds nothing that varies from run to run (no timings), so a rebuild leaves it unchanged."""
    path = checkpoint_path(hub, recipe)
    wanted = fingerprint(recipe, params, world)
    existing = read_card(path) if path.is_file() else None
    if existing is not None and existing.training_fingerprint == wanted:
        return existing, None
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = params.steps(recipe)
    metadata = None
    card_fields: dict = {}
    if isinstance(recipe, VLMRecipe):
        image_steps = params.image_steps(recipe)
        trained = train_vlm(recipe, world, params.seed, steps, image_steps, params.batch_size)
    elif isinstance(recipe, ClassifierRecipe):
        trained = train_classifier(recipe, world, params.seed, steps, params.batch_size)
        card_fields = {
            "source_classes": [node_id_of(c) for c in recipe.classes],
            "class_to_node": {node_id_of(c): node_id_of(c) for c in recipe.classes},
            "image_size": CLASSIFIER_PREPROCESSING.image_size,
            "mean": CLASSIFIER_PREPROCESSING.mean,
            "std": CLASSIFIER_PREPROCESSING.std,
        }
    else:
        trained, prompt_encoder = train_generator(
            recipe, params.seed, steps, params.generator_images, recipe.batch_size
        )
        metadata = metadata_for(prompt_encoder)
    state = {k: v.detach().contiguous() for k, v in trained.module.state_dict().items()}
    temporary = path.with_suffix(".tmp")
    save_file(state, str(temporary), metadata=metadata)
    canonical_safetensors(temporary)
    card = ModelCard(
        name=recipe.name,
        kind=kind_of(recipe),
        architecture=recipe.architecture,
        source=f"starter:{recipe.name}",
        parameters=sum(p.numel() for p in trained.module.parameters()),
        training_slice=recipe.training_slice,
        seed=params.seed,
        license="Apache-2.0",
        tags=["starter", kind_of(recipe)],
        training_fingerprint=wanted,
        metrics={
            "first_loss": trained.first_loss,
            "last_loss": trained.last_loss,
            "training_examples": trained.examples,
            "steps": steps,
            **trained.metrics,
        },
        **card_fields,
    )
    temporary.replace(path)
    write_card(path, card)
    return card, trained


def canonical_safetensors(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys, in place. safetensors writes
    the metadata map in a random order per process, so the same weights gave different bytes
    (and a different DVC hash) on every build; tensor data and offsets are unchanged."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes with spaces
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size :])


def write_manifest(hub: Path, recipes: list[Recipe], planned: list[Recipe] | None = None) -> Path:
    """The manifest that `starter:<name>` resolves through (paths relative to the hub): the
    trained `recipes` out of the `planned` ones (default: all trained). Replaced atomically, as
    readers resolve names while training goes on."""
    entries = [
        ManifestEntry(
            name=recipe.name,
            kind=kind_of(recipe),
            scheme=scheme_of(recipe),
            architecture=recipe.architecture,
            checkpoint=str(checkpoint_path(hub, recipe).relative_to(hub)),
        )
        for recipe in recipes
    ]
    planned_names = [recipe.name for recipe in (recipes if planned is None else planned)]
    path = hub / "manifest.json"
    temporary = path.with_suffix(".json.tmp")
    manifest = HubManifest(models=entries, planned=planned_names)
    temporary.write_text(manifest.model_dump_json(indent=2) + "\n")
    temporary.replace(path)
    return path


def read_cards(hub: Path, names: list[str] | None = None) -> list[ModelCard]:
    """The cards of the hub's saved models (all, or those in `names`)."""
    cards = [
        ModelCard.model_validate_json(p.read_text()) for p in sorted(hub.glob("*/*.card.json"))
    ]
    return [c for c in cards if names is None or c.name in names]
