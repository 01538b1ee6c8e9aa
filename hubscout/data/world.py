"""The synthetic concept world: procedurally rendered images whose concepts compose.

A `Scene` names every concept in one image (a shape or a character, its colour, pattern and
size, the background, the font, the palette); `render` draws it; `caption` describes it in
natural language with synonyms. Everything is seeded: the same scene always renders to the
same pixels on the same fonts.
"""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SHAPES = (
    "circle",
    "ring",
    "crescent",
    "triangle",
    "square",
    "diamond",
    "pentagon",
    "hexagon",
    "star",
    "cross",
)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "crimson": (140, 10, 45),
    "orange": (245, 135, 25),
    "yellow": (235, 215, 30),
    "pink": (245, 140, 190),
    "brown": (125, 75, 35),
    "olive": (115, 125, 25),
    "green": (40, 165, 55),
    "teal": (20, 140, 140),
    "blue": (45, 90, 230),
    "navy": (20, 30, 105),
    "purple": (125, 45, 170),
}
PATTERNS = ("solid", "striped", "dotted", "checkered")
SIZES = ("small", "large")
DIGITS = tuple("0123456789")
VOWELS = tuple("AEIOU")
CONSONANTS = tuple("BKMRX")
LETTERS = VOWELS + CONSONANTS
CHARACTERS = DIGITS + LETTERS
BACKGROUNDS = ("light", "gray", "dark", "noise")
PALETTES = ("standard", "pastel", "muted")
FONT_FAMILIES: dict[str, tuple[str, ...]] = {
    "sans": ("DejaVu Sans",),
    "serif": ("DejaVu Serif", "STIXGeneral"),
    "mono": ("DejaVu Sans Mono",),
}
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# The category of each shape and the groups of each colour: the concept graph's internal
# nodes are built from these, and broad captions name them.
SHAPE_CATEGORIES: dict[str, str] = {
    "circle": "round shape",
    "ring": "round shape",
    "crescent": "round shape",
    "triangle": "polygon",
    "square": "polygon",
    "diamond": "polygon",
    "pentagon": "polygon",
    "hexagon": "polygon",
    "star": "pointed shape",
    "cross": "pointed shape",
}
COLOUR_GROUPS: dict[str, tuple[str, ...]] = {
    "red": ("warm",),
    "crimson": ("warm", "dark"),
    "orange": ("warm",),
    "yellow": ("warm",),
    "pink": ("warm",),
    "brown": ("warm", "dark"),
    "olive": ("cool", "dark"),
    "green": ("cool",),
    "teal": ("cool",),
    "blue": ("cool",),
    "navy": ("cool", "dark"),
    "purple": ("cool",),
}

SYNONYMS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "round dot"),
    "ring": ("ring", "annulus", "ring-shaped object"),
    "crescent": ("crescent", "crescent moon shape"),
    "triangle": ("triangle", "three-sided shape"),
    "square": ("square", "box"),
    "diamond": ("diamond", "rhombus"),
    "pentagon": ("pentagon", "five-sided polygon"),
    "hexagon": ("hexagon", "six-sided polygon"),
    "star": ("star", "five-pointed star"),
    "cross": ("cross", "plus sign"),
    "red": ("red", "bright red"),
    "crimson": ("crimson", "dark red", "maroon"),
    "orange": ("orange", "tangerine"),
    "yellow": ("yellow", "lemon yellow"),
    "pink": ("pink", "rose"),
    "brown": ("brown", "chocolate brown"),
    "olive": ("olive", "olive green"),
    "green": ("green", "grass green"),
    "teal": ("teal", "blue-green"),
    "blue": ("blue", "royal blue"),
    "navy": ("navy", "navy blue", "dark blue"),
    "purple": ("purple", "violet"),
    "solid": ("plain", "solid"),
    "striped": ("striped", "stripy"),
    "dotted": ("dotted", "polka-dot", "spotted"),
    "checkered": ("checkered", "chequered", "checkerboard"),
    "small": ("small", "tiny", "little"),
    "large": ("large", "big"),
}


@dataclass(frozen=True)
class Scene:
    """Every concept of one image, plus the jitter that makes each image unique."""

    kind: str  # "shape" or "character"
    symbol: str  # a shape name or one character
    colour: str
    pattern: str  # always "solid" for characters
    size: str
    background: str
    font: str  # a font family; used by characters
    palette: str
    seed: int


@dataclass(frozen=True)
class Style:
    """A rendering style that a generator or a training slice may fix."""

    background: str | None = None
    palette: str = "standard"
    font: str | None = None


TEXTURES = ("plain", "grain", "gradient", "lines", "vignette")
STROKES = ("filled", "outline")
RENDERINGS = ("smooth", "pixelated", "shadow")
LAYOUTS = ("free", "centred")


@dataclass(frozen=True)
class Finish:
    """How a generator draws a scene, beyond what the scene names: the background's texture,
    filled or outlined symbols, the rendering (smooth, pixelated or with a drop shadow) and
    the layout (anywhere at any angle, or centred and upright, as a house style composes).
    The world's own images all have the default finish."""

    texture: str = "plain"
    stroke: str = "filled"
    rendering: str = "smooth"
    layout: str = "free"

    def __post_init__(self) -> None:
        for value, options in (
            (self.texture, TEXTURES),
            (self.stroke, STROKES),
            (self.rendering, RENDERINGS),
            (self.layout, LAYOUTS),
        ):
            if value not in options:
                raise ValueError(f"unknown finish {value!r}: use one of {', '.join(options)}")


PLAIN = Finish()

Constraints = Mapping[str, str | Sequence[str]]


def sample_scenes(
    rng: np.random.Generator,
    n: int,
    constraints: Constraints | None = None,
    style: Style = Style(),
) -> list[Scene]:
    """`n` random scenes whose attributes obey `constraints` (a value or a list of values)."""
    constraints = dict(constraints or {})
    return [_sample_scene(rng, constraints, style) for _ in range(n)]


def _choose(rng: np.random.Generator, options: Sequence[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _sample_scene(rng: np.random.Generator, constraints: dict, style: Style) -> Scene:
    def pick(name: str, default: Sequence[str]) -> str:
        value = constraints.get(name, default)
        return value if isinstance(value, str) else _choose(rng, value)

    symbol_options = constraints.get("symbol")
    if symbol_options is not None:
        symbol = symbol_options if isinstance(symbol_options, str) else _choose(rng, symbol_options)
        kind = "shape" if symbol in SHAPES else "character"
    else:
        kind = pick("kind", ("shape", "character"))
        symbol = _choose(rng, SHAPES if kind == "shape" else CHARACTERS)
    pattern = pick("pattern", PATTERNS) if kind == "shape" else "solid"
    return Scene(
        kind=kind,
        symbol=symbol,
        colour=pick("colour", tuple(COLOURS)),
        pattern=pattern,
        size=pick("size", SIZES),
        background=style.background or pick("background", BACKGROUNDS),
        font=style.font or pick("font", tuple(FONT_FAMILIES)),
        palette=style.palette,
        seed=int(rng.integers(2**31)),
    )


@cache
def font_files() -> dict[str, tuple[str, ...]]:
    """TrueType files per font family, found through matplotlib's font manager."""
    from matplotlib import font_manager

    found: dict[str, tuple[str, ...]] = {}
    for family, names in FONT_FAMILIES.items():
        paths = []
        for name in names:
            properties = font_manager.FontProperties(family=name)
            path = font_manager.findfont(properties, fallback_to_default=False)
            if path and Path(path).is_file() and path not in paths:
                paths.append(path)
        found[family] = tuple(paths)
    return found


@cache
def _font(family: str, variant: int, pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    files = font_files().get(family, ())
    if files:
        return ImageFont.truetype(files[variant % len(files)], pixels)
    return ImageFont.load_default(size=pixels)  # Pillow's bundled font


def _colour(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    colour = np.array(COLOURS[scene.colour], dtype=np.float64)
    colour += rng.normal(0.0, 6.0, size=3)
    if scene.palette == "pastel":
        colour = 0.55 * colour + 0.45 * 255.0
    elif scene.palette == "muted":
        colour = 0.6 * colour + 0.4 * 128.0
    return colour.clip(0, 255)


def _background(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    level = {"light": 235.0, "gray": 128.0, "dark": 22.0, "noise": 128.0}[scene.background]
    image = np.full((size, size, 3), level) + rng.normal(0.0, 4.0, size=3)
    if scene.background == "noise":
        image += rng.normal(0.0, 40.0, size=(size, size, 3))
    return image


def _polygon(n: int, radius: float, center: tuple[float, float], angle: float) -> list:
    angles = angle + np.arange(n) * 2 * np.pi / n
    return [(center[0] + radius * np.cos(a), center[1] + radius * np.sin(a)) for a in angles]


def _shape_mask(scene: Scene, rng: np.random.Generator, size: int, centred: bool) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    radius = size * (0.22 if scene.size == "small" else 0.40)
    slack = max(size / 2 - radius - 1, 0)
    cx, cy = size / 2 + rng.uniform(-slack, slack), size / 2 + rng.uniform(-slack, slack)
    angle = rng.uniform(0, 2 * np.pi)
    if centred:  # the same numbers are drawn, so the rest of the scene stays as it was
        cx, cy = size / 2, size / 2
        angle = -np.pi / 2 + (np.pi / 4 if scene.symbol == "square" else 0.0)  # point up
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    match scene.symbol:
        case "circle":
            draw.ellipse(box, fill=255)
        case "ring":
            draw.ellipse(box, fill=255)
            inner = radius * 0.55
            draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
        case "crescent":
            draw.ellipse(box, fill=255)
            dx, dy = 0.5 * radius * np.cos(angle), 0.5 * radius * np.sin(angle)
            draw.ellipse((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), fill=0)
        case "triangle":
            draw.polygon(_polygon(3, radius, (cx, cy), angle), fill=255)
        case "square":
            draw.polygon(_polygon(4, radius * 1.1, (cx, cy), angle), fill=255)
        case "diamond":
            corners = _polygon(4, radius, (cx, cy), angle)
            squashed = [
                (cx + (x - cx) * (0.55 if i % 2 else 1.0), cy + (y - cy))
                for i, (x, y) in enumerate(corners)
            ]
            draw.polygon(squashed, fill=255)
        case "pentagon":
            draw.polygon(_polygon(5, radius, (cx, cy), angle), fill=255)
        case "hexagon":
            draw.polygon(_polygon(6, radius, (cx, cy), angle), fill=255)
        case "star":
            outer = _polygon(5, radius, (cx, cy), angle)
            inner = _polygon(5, radius * 0.42, (cx, cy), angle + np.pi / 5)
            draw.polygon([p for pair in zip(outer, inner, strict=True) for p in pair], fill=255)
        case "cross":
            arm = radius * 0.32
            draw.rectangle((cx - radius, cy - arm, cx + radius, cy + arm), fill=255)
            draw.rectangle((cx - arm, cy - radius, cx + arm, cy + radius), fill=255)
        case _:
            raise ValueError(f"unknown shape {scene.symbol!r}")
    return mask


def _character_mask(
    scene: Scene, rng: np.random.Generator, size: int, centred: bool
) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    pixels = int(size * (0.5 if scene.size == "small" else 0.9))
    font = _font(scene.font, int(rng.integers(8)), pixels)
    slack = max((size - pixels) / 2, 0) * 0.8
    center = (size / 2 + rng.uniform(-slack, slack), size / 2 + rng.uniform(-slack, slack))
    if centred:
        center = (size / 2, size / 2)
    ImageDraw.Draw(mask).text(center, scene.symbol, fill=255, font=font, anchor="mm")
    return mask


def _texture(scene: Scene, colour: np.ndarray, size: int) -> np.ndarray:
    light = 0.3 * colour + 0.7 * 255.0
    yy, xx = np.mgrid[0:size, 0:size]
    period = max(size // 6, 2)
    match scene.pattern:
        case "solid":
            alternate = np.zeros((size, size), dtype=bool)
        case "striped":
            alternate = ((yy // (period // 2 or 1)) % 2).astype(bool)
        case "dotted":
            cy, cx = yy % period - period / 2, xx % period - period / 2
            alternate = cy**2 + cx**2 < (period * 0.3) ** 2
        case "checkered":
            alternate = ((yy // period + xx // period) % 2).astype(bool)
        case _:
            raise ValueError(f"unknown pattern {scene.pattern!r}")
    return np.where(alternate[..., None], light, colour)


def _background_texture(texture: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """An offset [size, size, 1] added to the background's level."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    match texture:
        case "plain":
            offset = np.zeros((size, size))
        case "grain":
            offset = rng.normal(0.0, 14.0, size=(size, size))
        case "gradient":
            offset = 90.0 * (yy - 0.5)
        case "lines":
            offset = np.where((np.arange(size) % max(size // 6, 2) < 2)[:, None], -60.0, 0.0)
            offset = np.broadcast_to(offset, (size, size))
        case "vignette":
            offset = -200.0 * ((yy - 0.5) ** 2 + (xx - 0.5) ** 2)
        case _:
            raise ValueError(f"unknown texture {texture!r}")
    return offset[..., None]


def _outline(mask: Image.Image, size: int) -> Image.Image:
    """The mask's rim, about 3% of the image wide."""
    width = 2 * max(size // 32, 1) + 1
    inner = mask.filter(ImageFilter.MinFilter(width))
    return Image.fromarray(
        np.clip(np.asarray(mask, np.int16) - np.asarray(inner, np.int16), 0, 255).astype(np.uint8)
    )


def render(
    scene: Scene, image_size: int = 32, supersample: int = 2, finish: Finish = PLAIN
) -> np.ndarray:
    """The scene as uint8 [image_size, image_size, 3], drawn with `finish` (the world's
    images: the plain finish, whose pixels draw no extra random numbers)."""
    rng = np.random.default_rng(scene.seed)
    size = image_size * supersample
    colour = _colour(scene, rng)
    background = _background(scene, rng, size)
    if scene.kind == "shape":
        mask = _shape_mask(scene, rng, size, finish.layout == "centred")
    else:
        mask = _character_mask(scene, rng, size, finish.layout == "centred")
    if finish != PLAIN:
        finish_rng = np.random.default_rng([scene.seed, 1])
        background = background + _background_texture(finish.texture, finish_rng, size)
        if finish.stroke == "outline":
            mask = _outline(mask, size)
        if finish.rendering == "shadow":
            shift = max(size // 16, 1)
            shadow = np.roll(np.asarray(mask, np.float64), (shift, shift), axis=(0, 1)) / 255.0
            background = background * (1 - 0.75 * shadow[..., None])
    alpha = np.asarray(mask, dtype=np.float64)[..., None] / 255.0
    image = background * (1 - alpha) + _texture(scene, colour, size) * alpha
    picture = Image.fromarray(image.clip(0, 255).astype(np.uint8))
    if finish.rendering == "pixelated":
        coarse = picture.resize((image_size // 2, image_size // 2), Image.Resampling.BOX)
        return np.asarray(coarse.resize((image_size, image_size), Image.Resampling.NEAREST))
    return np.asarray(picture.resize((image_size, image_size), Image.Resampling.LANCZOS))


def render_all(scenes: Sequence[Scene], image_size: int = 32, finish: Finish = PLAIN) -> np.ndarray:
    """Every scene rendered, uint8 [N, image_size, image_size, 3]."""
    images = np.empty((len(scenes), image_size, image_size, 3), dtype=np.uint8)
    for index, scene in enumerate(scenes):
        images[index] = render(scene, image_size, finish=finish)
    return images


def symbol_phrase(symbol: str, rng: np.random.Generator) -> str:
    """How a caption names a shape or character."""
    if symbol in SHAPES:
        return _choose(rng, SYNONYMS[symbol])
    if symbol in DIGITS:
        return _choose(rng, (f"digit {symbol}", f"number {DIGIT_WORDS[int(symbol)]}"))
    return _choose(rng, (f"letter {symbol}", f"capital {symbol}"))


def broad_phrase(facet: str, scene: Scene, rng: np.random.Generator) -> str | None:
    """A broader true name of the scene's colour, symbol or pattern ("warm-coloured",
    "polygon", "vowel", "plain"), or None where the facet has none."""
    if facet == "colour":
        return f"{_choose(rng, COLOUR_GROUPS[scene.colour])}-coloured"
    if facet == "symbol":
        if scene.symbol in SHAPES:
            return SHAPE_CATEGORIES[scene.symbol]
        if scene.symbol in DIGITS:
            return _choose(rng, ("digit", "number"))
        return _choose(rng, ("vowel" if scene.symbol in VOWELS else "consonant", "letter"))
    if facet == "pattern" and scene.kind == "shape" and scene.pattern == "solid":
        return _choose(rng, SYNONYMS["solid"])
    return None


def caption(
    scene: Scene,
    rng: np.random.Generator,
    mention: Sequence[str] = ("size", "colour", "pattern", "symbol"),
    broad: float = 0.0,
) -> str:
    """A natural caption of the facets in `mention`, with synonyms chosen at random.

    With probability `broad` a mentioned colour, symbol or solid pattern is named broadly
    instead (`broad_phrase`: "a small warm-coloured star", "a red polygon", "a plain square"),
    as people often do; a solid pattern is mentioned only then. At 0 no extra random number
    is drawn, so those captions stay as they always were."""

    def broadly(facet: str) -> str | None:
        return broad_phrase(facet, scene, rng) if broad and rng.random() < broad else None

    words = []
    if "size" in mention:
        words.append(_choose(rng, SYNONYMS[scene.size]))
    if "colour" in mention:
        words.append(broadly("colour") or _choose(rng, SYNONYMS[scene.colour]))
    if "pattern" in mention and scene.kind == "shape":
        if scene.pattern != "solid":
            words.append(_choose(rng, SYNONYMS[scene.pattern]))
        elif plain := broadly("pattern"):
            words.append(plain)
    if "symbol" in mention:
        words.append(broadly("symbol") or symbol_phrase(scene.symbol, rng))
    elif scene.kind == "character":
        words.append("character")
    else:
        words.append("shape")
    text = " ".join(words)
    article = "an" if text[0] in "aeiou" else "a"
    return _choose(rng, (f"{article} {text}", f"a picture of {article} {text}", f"{text}"))


def stable_seed(*parts: object) -> int:
    """A seed derived from names and numbers, stable across processes and machines."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def scene_records(scenes: Sequence[Scene]) -> list[dict]:
    """Scenes as plain dicts (for Parquet tables)."""
    return [asdict(scene) for scene in scenes]


def prompt_vocabulary() -> tuple[list[str], dict[str, str]]:
    """Tokens of the world's prompts and the phrases (lower case) that name each token."""
    tokens: list[str] = [*SHAPES, *COLOURS, *PATTERNS, *SIZES, *CHARACTERS, "shape", "character"]
    phrases = {phrase: token for token, words in SYNONYMS.items() for phrase in words}
    for digit in DIGITS:
        phrases[f"digit {digit}"] = digit
        phrases[f"number {DIGIT_WORDS[int(digit)]}"] = digit
    for letter in LETTERS:
        phrases[f"letter {letter.lower()}"] = letter
        phrases[f"capital {letter.lower()}"] = letter
    phrases["shape"] = "shape"
    phrases["character"] = "character"
    return tokens, phrases
