"""Named target tasks of the world: plain-language class names, task cards and splits.

Class names are what a user would type ("crimson", "a ring-shaped object", "polka dots"),
not node ids. Each class also records the concept nodes it really is (`nodes`); that is ground
truth for validation and benchmarks, never an input of selection. Tasks marked `held_out` are
for benchmarks only and are never used to tune anything.
"""

from dataclasses import dataclass

from hubscout.data.world import COLOURS, CONSONANTS, DIGIT_WORDS, DIGITS, VOWELS, Constraints


@dataclass(frozen=True)
class TaskClass:
    """One class of a task: its name, the scenes that show it and its true concept nodes."""

    name: str
    constraints: Constraints
    nodes: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class TargetTask:
    """A classification task with its card."""

    name: str
    domain: str
    description: str
    classes: tuple[TaskClass, ...]
    held_out: bool = False

    def class_names(self) -> list[str]:
        """The plain-language class names, in label order."""
        return [c.name for c in self.classes]


def _colours(names: dict[str, str], fixed: Constraints | None = None) -> tuple[TaskClass, ...]:
    return tuple(
        TaskClass(label, {"colour": colour, **(fixed or {})}, (colour,))
        for label, colour in names.items()
    )


_ROUND = ("circle", "ring", "crescent")
_POLYGONS = ("triangle", "square", "diamond", "pentagon", "hexagon")
_WARM = ("red", "crimson", "orange", "yellow", "pink", "brown")
_COOL = tuple(c for c in COLOURS if c not in _WARM)

TASKS: tuple[TargetTask, ...] = (
    TargetTask(
        "traffic-lights",
        "signals",
        "Which lamp of a traffic light is lit, from its colour.",
        _colours(
            {"red": "red", "yellow": "yellow", "green": "green"},
            {"symbol": "circle", "pattern": "solid"},
        ),
    ),
    TargetTask(
        "polygons",
        "geometry",
        "Count the sides of a polygon.",
        tuple(
            TaskClass(s, {"symbol": s}, (s,)) for s in ("triangle", "square", "pentagon", "hexagon")
        ),
    ),
    TargetTask(
        "digits",
        "documents",
        "Read a single handwritten-style digit.",
        tuple(TaskClass(DIGIT_WORDS[int(d)], {"symbol": d}, (f"digit {d}",)) for d in DIGITS),
    ),
    TargetTask(
        "vowels",
        "documents",
        "Which vowel is printed.",
        tuple(TaskClass(f"the letter {v}", {"symbol": v}, (f"letter {v}",)) for v in VOWELS),
    ),
    TargetTask(
        "patterns",
        "textiles",
        "The fabric pattern of a swatch.",
        (
            TaskClass("plain", {"pattern": "solid", "kind": "shape"}, ("solid",)),
            TaskClass("stripes", {"pattern": "striped", "kind": "shape"}, ("striped",)),
            TaskClass("polka dots", {"pattern": "dotted", "kind": "shape"}, ("dotted",)),
            TaskClass("checkerboard", {"pattern": "checkered", "kind": "shape"}, ("checkered",)),
        ),
    ),
    TargetTask(
        "warm-shades",
        "retail",
        "Tell apart close warm shades of a product.",
        _colours({"crimson": "crimson", "red": "red", "orange": "orange", "pink": "pink"}),
    ),
    TargetTask(
        "cool-shades",
        "retail",
        "Tell apart close cool shades of a product.",
        _colours({"navy": "navy", "blue": "blue", "teal": "teal", "purple": "purple"}),
    ),
    TargetTask(
        "sizes",
        "inspection",
        "Is the object small or large in the frame.",
        (
            TaskClass("a small object", {"size": "small"}, ("small",)),
            TaskClass("a large object", {"size": "large"}, ("large",)),
        ),
    ),
    TargetTask(
        "round-or-angular",
        "geometry",
        "Curved outline or straight-sided polygon.",
        (
            TaskClass("a round shape", {"symbol": _ROUND}, ("round shape",)),
            TaskClass("a polygon", {"symbol": _POLYGONS}, ("polygon",)),
        ),
    ),
    TargetTask(
        "letter-or-digit",
        "documents",
        "Is the printed character a letter or a digit.",
        (
            TaskClass("a letter", {"symbol": VOWELS + CONSONANTS}, ("letter",)),
            TaskClass("a digit", {"symbol": DIGITS}, ("digit",)),
        ),
    ),
    TargetTask(
        "icons",
        "interfaces",
        "Which icon is shown.",
        tuple(TaskClass(s, {"symbol": s}, (s,)) for s in ("star", "cross", "crescent", "ring")),
    ),
    TargetTask(
        "coloured-shapes",
        "toys",
        "Which coloured toy block is shown.",
        (
            TaskClass("red circle", {"symbol": "circle", "colour": "red"}, ("red", "circle")),
            TaskClass("blue square", {"symbol": "square", "colour": "blue"}, ("blue", "square")),
            TaskClass(
                "green triangle", {"symbol": "triangle", "colour": "green"}, ("green", "triangle")
            ),
            TaskClass("yellow star", {"symbol": "star", "colour": "yellow"}, ("yellow", "star")),
        ),
    ),
    TargetTask(
        "shape-synonyms",
        "geometry",
        "Shapes named by everyday words.",
        (
            TaskClass("disc", {"symbol": "circle"}, ("circle",)),
            TaskClass("box", {"symbol": "square"}, ("square",)),
            TaskClass("rhombus", {"symbol": "diamond"}, ("diamond",)),
            TaskClass("a ring-shaped object", {"symbol": "ring"}, ("ring",)),
        ),
        held_out=True,
    ),
    TargetTask(
        "dark-colours",
        "retail",
        "Dark product colours named as a shop would.",
        _colours(
            {"maroon": "crimson", "navy blue": "navy", "olive green": "olive", "chocolate": "brown"}
        ),
        held_out=True,
    ),
    TargetTask(
        "consonants",
        "documents",
        "Which consonant is printed.",
        tuple(TaskClass(f"the letter {c}", {"symbol": c}, (f"letter {c}",)) for c in CONSONANTS),
        held_out=True,
    ),
    TargetTask(
        "warm-or-cool",
        "design",
        "Is the dominant colour warm or cool.",
        (
            TaskClass("a warm colour", {"colour": _WARM}, ("warm colour",)),
            TaskClass("a cool colour", {"colour": _COOL}, ("cool colour",)),
        ),
        held_out=True,
    ),
    TargetTask(
        "swatches",
        "textiles",
        "Classify crimson, navy and olive fabric swatches.",
        _colours({"crimson": "crimson", "navy": "navy", "olive": "olive"}, {"symbol": "square"}),
        held_out=True,
    ),
)


def task_by_name(name: str) -> TargetTask:
    """The task called `name`."""
    for task in TASKS:
        if task.name == name:
            return task
    raise KeyError(name)
