"""What the starter hub holds: one spec per model, each trained on its own slice of the world.

The slices differ on purpose (a colour-blind VLM, a characters-only VLM, a shape classifier,
a dark-background generator ...) so that no single model is best everywhere. The `tiny`
profile keeps a few small models with few steps, for the tests.
"""

from dataclasses import dataclass, field, replace

from hubscout.data.world import CHARACTERS, COLOURS, DIGITS, LETTERS, PATTERNS, SHAPES, Style

ALL_FACETS = ("size", "colour", "pattern", "symbol")


@dataclass(frozen=True)
class VLMSpec:
    """A tiny open_clip model trained on pool scenes matching `where`: `image_steps` of its
    image tower on the facets in `mention`, then `steps` of its text tower (LiT)."""

    name: str
    architecture: str
    training_slice: str
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mention: tuple[str, ...] = ALL_FACETS
    grayscale: bool = False
    steps: int = 300
    image_steps: int = 1500


@dataclass(frozen=True)
class ClassifierSpec:
    """A timm classifier over `label` (a scene attribute) restricted to `classes`."""

    name: str
    architecture: str
    training_slice: str
    label: str
    classes: tuple[str, ...]
    steps: int = 400


@dataclass(frozen=True)
class GeneratorSpec:
    """A conditional VAE trained on scenes rendered in one style."""

    name: str
    architecture: str
    training_slice: str
    style: Style
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    steps: int = 250


# Steps, chosen on the val splits of the world's tasks (never the test split the reports
# score), one core a model: a shape tower needs ~2000 supervised steps (vlm-patterns at 2000:
# polygons 0.86, icons 1.00), characters ~1500 (vlm-characters at 1500: digits 0.91, vowels
# 0.99, consonants 0.95), colours 600 (vlm-colours at 600: every colour task >= 0.93); 300
# text steps against the locked tower (400 for the generalist, whose captions vary most).
VLMS = (
    VLMSpec(
        "vlm-generalist",
        "hs-timm-resnet",
        "every scene, every facet",
        steps=400,
        image_steps=2000,
    ),
    VLMSpec(
        "vlm-grayscale",
        "hs-vit-w64-p8",
        "every scene in grayscale; captions never name colours",
        mention=("size", "pattern", "symbol"),
        grayscale=True,
        steps=300,
        image_steps=1500,
    ),
    VLMSpec(
        "vlm-shapes",
        "hs-timm-convnext",
        "shapes only",
        where={"kind": ("shape",)},
        steps=300,
        image_steps=2000,
    ),
    VLMSpec(
        "vlm-characters",
        "hs-timm-resnet",
        "characters only",
        where={"kind": ("character",)},
        mention=("size", "colour", "symbol"),
        steps=300,
        image_steps=1500,
    ),
    VLMSpec(
        "vlm-colours",
        "hs-vit-w64-p8",
        "every scene; captions name only the colour",
        mention=("colour",),
        steps=300,
        image_steps=600,
    ),
    VLMSpec(
        "vlm-patterns",
        "hs-timm-resnet",
        "shapes; captions name pattern, shape and size, not colour",
        where={"kind": ("shape",)},
        mention=("size", "pattern", "symbol"),
        steps=300,
        image_steps=2000,
    ),
    VLMSpec(
        "vlm-serif",
        "hs-vit-w64-p4",
        "serif characters and shapes on light or gray backgrounds",
        where={"font": ("serif",), "background": ("light", "gray")},
        steps=300,
        image_steps=1000,
    ),
    VLMSpec(
        "vlm-dark",
        "hs-vit-w64-p8",
        "scenes on dark or noisy backgrounds",
        where={"background": ("dark", "noise")},
        steps=300,
        image_steps=1500,
    ),
)

CLASSIFIERS = (
    ClassifierSpec("clf-shapes", "test_resnet", "shapes, labelled by shape", "symbol", SHAPES),
    ClassifierSpec(
        "clf-colours", "test_resnet", "every scene, labelled by colour", "colour", tuple(COLOURS)
    ),
    ClassifierSpec("clf-digits", "test_convnext", "digits, labelled by digit", "symbol", DIGITS),
    ClassifierSpec(
        "clf-letters", "test_efficientnet", "letters, labelled by letter", "symbol", LETTERS
    ),
    ClassifierSpec(
        "clf-patterns", "test_resnet", "shapes, labelled by pattern", "pattern", PATTERNS
    ),
    ClassifierSpec(
        "clf-mixed",
        "test_byobnet",
        "every scene, labelled by shape or character",
        "symbol",
        SHAPES + CHARACTERS,
    ),
)

GENERATORS = (
    GeneratorSpec("gen-light", "hs-cvae-w32", "light backgrounds", Style(background="light")),
    GeneratorSpec("gen-dark", "hs-cvae-w32", "dark backgrounds", Style(background="dark")),
    GeneratorSpec("gen-noise", "hs-cvae-w32", "noisy backgrounds", Style(background="noise")),
    GeneratorSpec(
        "gen-pastel",
        "hs-cvae-w32",
        "pastel palette on gray",
        Style(background="gray", palette="pastel"),
    ),
    GeneratorSpec(
        "gen-muted",
        "hs-cvae-w32",
        "muted palette on gray",
        Style(background="gray", palette="muted"),
    ),
    GeneratorSpec(
        "gen-serif",
        "hs-cvae-w32",
        "serif characters on gray",
        Style(background="gray", font="serif"),
        where={"kind": ("character",)},
    ),
    GeneratorSpec(
        "gen-mono",
        "hs-cvae-w32",
        "monospace characters on light",
        Style(background="light", font="mono"),
        where={"kind": ("character",)},
    ),
    GeneratorSpec(
        "gen-striped",
        "hs-cvae-w32",
        "striped shapes on gray",
        Style(background="gray"),
        where={"kind": ("shape",), "pattern": ("striped",)},
    ),
)

TINY = {"vlm-colours", "vlm-dark", "clf-colours", "clf-patterns", "gen-light", "gen-dark"}
TINY_STEPS = {VLMSpec: 100, ClassifierSpec: 100, GeneratorSpec: 75}
TINY_IMAGE_STEPS = 150


def catalog(profile: str) -> tuple[list[VLMSpec], list[ClassifierSpec], list[GeneratorSpec]]:
    """The specs of a profile: `full` (the whole hub) or `tiny` (a few models, for tests)."""
    if profile == "full":
        return list(VLMS), list(CLASSIFIERS), list(GENERATORS)
    if profile == "tiny":
        return (
            [
                replace(s, steps=TINY_STEPS[VLMSpec], image_steps=TINY_IMAGE_STEPS)
                for s in VLMS
                if s.name in TINY
            ],
            [replace(s, steps=TINY_STEPS[ClassifierSpec]) for s in CLASSIFIERS if s.name in TINY],
            [replace(s, steps=TINY_STEPS[GeneratorSpec]) for s in GENERATORS if s.name in TINY],
        )
    raise ValueError(f"unknown hub profile {profile!r}: use full or tiny")
