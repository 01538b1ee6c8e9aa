"""Named target tasks of the world: plain-language class names, task cards and splits.

Class names are what a user would type ("crimson", "a ring-shaped object", "polka dots"),
not node ids. Each class also records the concept nodes it really is (`nodes`); that is ground
truth for validation and benchmarks, never an input of selection. Tasks marked `held_out` are
for benchmarks only and are never used to tune anything. `draw_tasks` draws more tasks from
the concept graph for the selection benchmark, named with the alternative names.
"""

from dataclasses import dataclass

import numpy as np

from hubscout.data.graph import ConceptNode, build_graph, descendant_leaves
from hubscout.data.names import names_of
from hubscout.data.world import (
    COLOURS,
    CONSONANTS,
    DIGIT_WORDS,
    DIGITS,
    PATTERNS,
    SHAPES,
    SIZES,
    VOWELS,
    Constraints,
    stable_seed,
)


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


# What a drawn task tells apart: leaves of one facet, or categories (internal nodes).
DRAWN_POOLS: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "colour": tuple(COLOURS),
    "pattern": PATTERNS,
    "size": SIZES,
    "digit": tuple(f"digit {d}" for d in DIGITS),
    "letter": tuple(f"letter {c}" for c in VOWELS + CONSONANTS),
    "shape category": ("round shape", "polygon", "pointed shape"),
    "colour category": ("warm colour", "cool colour"),
    "character category": ("letter", "digit"),
    "letter category": ("vowel", "consonant"),
}
MAX_DRAWN_CLASSES = 5


def draw_tasks(count: int, split: str, seed: int = 0) -> list[TargetTask]:
    """`count` target tasks drawn from the concept graph, each class named by one of its
    node's alternative names of `split` (`tuning` or `evaluation`, hubscout.data.names), so
    that tuning and evaluation tasks share no class name. Evaluation tasks are held out."""
    graph = {node.node_id: node for node in build_graph()}
    below = descendant_leaves(list(graph.values()))
    rng = np.random.default_rng(stable_seed(seed, "drawn-tasks", split))
    pools = sorted(DRAWN_POOLS)
    tasks = []
    for index in range(count):
        pool = pools[int(rng.integers(len(pools)))]
        nodes = DRAWN_POOLS[pool]
        size = int(rng.integers(2, min(MAX_DRAWN_CLASSES, len(nodes)) + 1))
        chosen = [str(n) for n in rng.choice(np.array(nodes), size=size, replace=False)]
        classes = []
        for node_id in chosen:
            names = names_of(node_id, split)
            constraints = _node_constraints([graph[leaf] for leaf in sorted(below[node_id])])
            classes.append(
                TaskClass(str(names[int(rng.integers(len(names)))]), constraints, (node_id,))
            )
        tasks.append(
            TargetTask(
                f"drawn-{split}-{index:03d}",
                "drawn",
                f"Tell apart {', '.join(chosen)} ({pool}).",
                tuple(classes),
                held_out=split == "evaluation",
            )
        )
    return tasks


def _node_constraints(leaf_nodes: list[ConceptNode]) -> Constraints:
    """The scene constraints that show any of the leaves: each attribute's values pooled."""
    values: dict[str, list[str]] = {}
    for leaf in leaf_nodes:
        for key, value in (leaf.constraints or {}).items():
            for item in (value,) if isinstance(value, str) else value:
                if item not in values.setdefault(key, []):
                    values[key].append(item)
    return {k: v[0] if len(v) == 1 else tuple(v) for k, v in values.items()}
