"""What the starter hub holds: one recipe per model, each trained on its own slice of the world.

The slices differ on purpose (a colour-blind VLM, a characters-only VLM, a shape classifier,
a dark-background generator ...) so that no single model is best everywhere. The `tiny`
profile keeps a few small models with few steps, for the tests.
"""

from dataclasses import dataclass, field, replace

from hubscout.data.world import (
    CHARACTERS,
    COLOURS,
    DIGITS,
    LETTERS,
    PATTERNS,
    PLAIN,
    SHAPES,
    Finish,
    Style,
)

ALL_FACETS = ("size", "colour", "pattern", "symbol")


@dataclass(frozen=True)
class VLMRecipe:
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
class ClassifierRecipe:
    """A timm classifier over `label` (a scene attribute) restricted to `classes`."""

    name: str
    architecture: str
    training_slice: str
    label: str
    classes: tuple[str, ...]
    steps: int = 300  # fewer than the VLMs' so that the stage fits its time (docs/decisions.md)


@dataclass(frozen=True)
class GeneratorRecipe:
    """A prompt-conditional generator (architecture `hs-<scheme>-...`: a cvae or a flow)
    trained on scenes of one style, drawn with one finish."""

    name: str
    architecture: str
    training_slice: str
    style: Style
    finish: Finish = PLAIN
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    steps: int = 2400  # a VAE's (see GENERATORS); the flows take 1000
    batch_size: int = 32  # the hub's batch_size is that of VLMs and classifiers

    @property
    def scheme(self) -> str:
        """The source-URI scheme that loads it: cvae or flow."""
        return self.architecture.split("-")[1]


# Steps chosen on the val splits of the world's tasks, never the test split the reports score;
# towers best on no task take fewer, so that the stage fits its time (docs/decisions.md).
VLMS = (
    VLMRecipe(
        "vlm-generalist",
        "hs-timm-resnet",
        "every scene, every facet",
        steps=400,
        image_steps=2000,
    ),
    VLMRecipe(
        "vlm-grayscale",
        "hs-vit-w64-p8",
        "every scene in grayscale; captions never name colours",
        mention=("size", "pattern", "symbol"),
        grayscale=True,
        steps=300,
        image_steps=1000,
    ),
    VLMRecipe(
        "vlm-shapes",
        "hs-timm-convnext",
        "shapes only",
        where={"kind": ("shape",)},
        steps=300,
        image_steps=2000,
    ),
    VLMRecipe(
        "vlm-characters",
        "hs-timm-resnet",
        "characters only",
        where={"kind": ("character",)},
        mention=("size", "colour", "symbol"),
        steps=300,
        image_steps=1500,
    ),
    VLMRecipe(
        "vlm-colours",
        "hs-vit-w64-p8",
        "every scene; captions name only the colour",
        mention=("colour",),
        steps=300,
        image_steps=600,
    ),
    VLMRecipe(
        "vlm-patterns",
        "hs-timm-resnet",
        "shapes; captions name pattern, shape and size, not colour",
        where={"kind": ("shape",)},
        mention=("size", "pattern", "symbol"),
        steps=300,
        image_steps=2000,
    ),
    VLMRecipe(
        "vlm-serif",
        "hs-vit-w64-p4",
        "serif characters and shapes on light or gray backgrounds",
        where={"font": ("serif",), "background": ("light", "gray")},
        steps=300,
        image_steps=1000,
    ),
    VLMRecipe(
        "vlm-dark",
        "hs-vit-w64-p8",
        "scenes on dark or noisy backgrounds",
        where={"background": ("dark", "noise")},
        steps=300,
        image_steps=1000,
    ),
)

CLASSIFIERS = (
    ClassifierRecipe("clf-shapes", "test_resnet", "shapes, labelled by shape", "symbol", SHAPES),
    ClassifierRecipe(
        "clf-colours", "test_resnet", "every scene, labelled by colour", "colour", tuple(COLOURS)
    ),
    ClassifierRecipe("clf-digits", "test_convnext", "digits, labelled by digit", "symbol", DIGITS),
    ClassifierRecipe(
        "clf-letters", "test_efficientnet", "letters, labelled by letter", "symbol", LETTERS
    ),
    ClassifierRecipe(
        "clf-patterns", "test_resnet", "shapes, labelled by pattern", "pattern", PATTERNS
    ),
    ClassifierRecipe(
        "clf-mixed",
        "test_byobnet",
        "every scene, labelled by shape or character",
        "symbol",
        SHAPES + CHARACTERS,
    ),
)

# Each generator has a house style of its own, as real fine-tunes do: a background, a
# palette, a font, a background texture, a stroke and a rendering, all centred and upright
# (with free placement a VAE averages the positions into a blur). Steps and batch size were
# chosen with a fidelity judge of their own seed (docs/decisions.md). The flows follow a
# prompt's shape since they take it as a spatial map too (hubscout.models.flow_matching);
# with FiLM alone they followed its colour but hardly its shape.
CENTRED = "centred"
GENERATORS = (
    GeneratorRecipe(
        "gen-light",
        "hs-cvae-w32",
        "light backgrounds, grainy paper",
        Style(background="light"),
        Finish(texture="grain", layout=CENTRED),
    ),
    GeneratorRecipe(
        "gen-dark",
        "hs-flow-w16",
        "dark backgrounds, outlined symbols",
        Style(background="dark"),
        Finish(stroke="outline", layout=CENTRED),
        steps=1000,
    ),
    GeneratorRecipe(
        "gen-noise",
        "hs-cvae-w32",
        "noisy backgrounds, pixelated",
        Style(background="noise"),
        Finish(rendering="pixelated", layout=CENTRED),
    ),
    GeneratorRecipe(
        "gen-pastel",
        "hs-cvae-w32",
        "pastel palette on a gray gradient, drop shadows",
        Style(background="gray", palette="pastel"),
        Finish(texture="gradient", rendering="shadow", layout=CENTRED),
    ),
    GeneratorRecipe(
        "gen-muted",
        "hs-cvae-w32",
        "muted palette on ruled gray",
        Style(background="gray", palette="muted"),
        Finish(texture="lines", layout=CENTRED),
    ),
    GeneratorRecipe(
        "gen-serif",
        "hs-flow-w16",
        "serif characters on vignetted gray",
        Style(background="gray", font="serif"),
        Finish(texture="vignette", layout=CENTRED),
        where={"kind": ("character",)},
        steps=1000,
    ),
    GeneratorRecipe(
        "gen-mono",
        "hs-cvae-w32",
        "monospace characters on grainy light, drop shadows",
        Style(background="light", font="mono"),
        Finish(texture="grain", rendering="shadow", layout=CENTRED),
        where={"kind": ("character",)},
    ),
    GeneratorRecipe(
        "gen-striped",
        "hs-cvae-w32",
        "striped shapes on a gray gradient, pixelated",
        Style(background="gray"),
        Finish(texture="gradient", rendering="pixelated", layout=CENTRED),
        where={"kind": ("shape",), "pattern": ("striped",)},
    ),
)

TINY = {"vlm-colours", "vlm-dark", "clf-colours", "clf-patterns", "gen-light", "gen-dark"}
TINY_STEPS = {VLMRecipe: 100, ClassifierRecipe: 100, GeneratorRecipe: 75}
TINY_IMAGE_STEPS = 150
TINY_JUDGE_STEPS = 100  # the fidelity judge's (hubscout.starter.fidelity), for tests


def catalog(profile: str) -> tuple[list[VLMRecipe], list[ClassifierRecipe], list[GeneratorRecipe]]:
    """The recipes of a profile: `full` (the whole hub) or `tiny` (a few models, for tests)."""
    if profile == "full":
        return list(VLMS), list(CLASSIFIERS), list(GENERATORS)
    if profile == "tiny":
        return (
            [
                replace(s, steps=TINY_STEPS[VLMRecipe], image_steps=TINY_IMAGE_STEPS)
                for s in VLMS
                if s.name in TINY
            ],
            [replace(s, steps=TINY_STEPS[ClassifierRecipe]) for s in CLASSIFIERS if s.name in TINY],
            [replace(s, steps=TINY_STEPS[GeneratorRecipe]) for s in GENERATORS if s.name in TINY],
        )
    raise ValueError(f"unknown hub profile {profile!r}: use full or tiny")
