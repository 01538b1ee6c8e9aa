"""The concept graph: a DAG of concept nodes over the world, each with a description.

Leaves are single concepts (a colour, a shape, a digit ...); internal nodes group them ("warm
colour", "polygon", "character"); a node may have several parents ("crimson" is both a warm
and a dark colour). A node's probe images are scenes that show its concept; internal nodes
pool the probes of their descendants.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

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
)


@dataclass(frozen=True)
class ConceptNode:
    """One node; `constraints` (leaves only) say which scenes show the concept."""

    node_id: str
    name: str
    description: str
    facet: str
    parents: tuple[str, ...]
    constraints: Constraints | None = None


_SHAPE_TEXT = {
    "circle": "a round filled disc",
    "ring": "a ring-shaped object, a circle with a hole in the middle",
    "crescent": "a crescent, the curved shape of a new moon",
    "triangle": "a triangle, a polygon with three sides",
    "square": "a square, a polygon with four equal sides",
    "diamond": "a diamond or rhombus, a slanted four-sided shape",
    "pentagon": "a pentagon, a polygon with five sides",
    "hexagon": "a hexagon, a polygon with six sides",
    "star": "a five-pointed star",
    "cross": "a cross or plus sign made of two bars",
}
_SHAPE_PARENTS = {
    "circle": ("round shape",),
    "ring": ("round shape",),
    "crescent": ("round shape",),
    "triangle": ("polygon",),
    "square": ("polygon",),
    "diamond": ("polygon",),
    "pentagon": ("polygon",),
    "hexagon": ("polygon",),
    "star": ("pointed shape",),
    "cross": ("pointed shape",),
}
_COLOUR_TEXT = {
    "red": "bright red, the colour of a stop light",
    "crimson": "crimson, a deep dark red like maroon",
    "orange": "orange, the colour of a tangerine",
    "yellow": "yellow, the colour of a lemon",
    "pink": "pink, a light rose red",
    "brown": "brown, the colour of chocolate or wood",
    "olive": "olive, a dull yellowish green",
    "green": "green, the colour of grass",
    "teal": "teal, a dark blue-green",
    "blue": "blue, a bright royal blue",
    "navy": "navy, a very dark blue",
    "purple": "purple, a violet colour between red and blue",
}
_COLOUR_PARENTS = {
    "red": ("warm colour",),
    "crimson": ("warm colour", "dark colour"),
    "orange": ("warm colour",),
    "yellow": ("warm colour",),
    "pink": ("warm colour",),
    "brown": ("warm colour", "dark colour"),
    "olive": ("cool colour", "dark colour"),
    "green": ("cool colour",),
    "teal": ("cool colour",),
    "blue": ("cool colour",),
    "navy": ("cool colour", "dark colour"),
    "purple": ("cool colour",),
}
_PATTERN_TEXT = {
    "solid": "plain, filled with one solid colour",
    "striped": "striped, with parallel bands",
    "dotted": "dotted, with polka dots",
    "checkered": "checkered, a checkerboard of squares",
}


def build_graph() -> list[ConceptNode]:
    """Every node of the concept graph, parents before children."""
    nodes = [
        ConceptNode(
            "concept", "visual concept", "anything that can be seen in an image", "root", ()
        ),
        ConceptNode("shape", "shape", "a geometric shape", "shape", ("concept",)),
        ConceptNode("round shape", "round shape", "a shape with curved edges", "shape", ("shape",)),
        ConceptNode(
            "polygon", "polygon", "a shape with straight sides and corners", "shape", ("shape",)
        ),
        ConceptNode(
            "pointed shape",
            "pointed shape",
            "a shape with sharp arms or points",
            "shape",
            ("shape",),
        ),
        ConceptNode("colour", "colour", "the colour of an object", "colour", ("concept",)),
        ConceptNode(
            "warm colour",
            "warm colour",
            "a warm colour: red, orange, yellow or pink",
            "colour",
            ("colour",),
        ),
        ConceptNode(
            "cool colour",
            "cool colour",
            "a cool colour: green, blue, teal or purple",
            "colour",
            ("colour",),
        ),
        ConceptNode("dark colour", "dark colour", "a dark, deep colour", "colour", ("colour",)),
        ConceptNode(
            "pattern",
            "pattern",
            "the texture or pattern filling an object",
            "pattern",
            ("concept",),
        ),
        ConceptNode("size", "size", "how big the object is in the picture", "size", ("concept",)),
        ConceptNode(
            "character",
            "character",
            "a written character, a letter or a digit",
            "character",
            ("concept",),
        ),
        ConceptNode("digit", "digit", "a digit, a number from 0 to 9", "character", ("character",)),
        ConceptNode(
            "letter", "letter", "a capital letter of the alphabet", "character", ("character",)
        ),
        ConceptNode("vowel", "vowel", "a vowel letter: A, E, I, O or U", "character", ("letter",)),
        ConceptNode("consonant", "consonant", "a consonant letter", "character", ("letter",)),
    ]
    for shape in SHAPES:
        nodes.append(
            ConceptNode(
                shape, shape, _SHAPE_TEXT[shape], "shape", _SHAPE_PARENTS[shape], {"symbol": shape}
            )
        )
    for colour in COLOURS:
        nodes.append(
            ConceptNode(
                colour,
                colour,
                _COLOUR_TEXT[colour],
                "colour",
                _COLOUR_PARENTS[colour],
                {"colour": colour},
            )
        )
    for pattern in PATTERNS:
        nodes.append(
            ConceptNode(
                pattern,
                pattern,
                _PATTERN_TEXT[pattern],
                "pattern",
                ("pattern",),
                {"kind": "shape", "pattern": pattern},
            )
        )
    for size in SIZES:
        text = (
            "a small object that fills little of the picture"
            if size == "small"
            else ("a large object that fills most of the picture")
        )
        nodes.append(ConceptNode(size, size, text, "size", ("size",), {"size": size}))
    for digit in DIGITS:
        word = DIGIT_WORDS[int(digit)]
        nodes.append(
            ConceptNode(
                f"digit {digit}",
                word,
                f"the digit {digit}, the number {word}",
                "character",
                ("digit",),
                {"symbol": digit},
            )
        )
    for letter in VOWELS + CONSONANTS:
        parent = "vowel" if letter in VOWELS else "consonant"
        nodes.append(
            ConceptNode(
                f"letter {letter}",
                f"letter {letter}",
                f"the capital letter {letter}",
                "character",
                (parent,),
                {"symbol": letter},
            )
        )
    return nodes


def leaves(nodes: Iterable[ConceptNode]) -> list[ConceptNode]:
    """The nodes that define probe scenes."""
    return [node for node in nodes if node.constraints is not None]


def descendant_leaves(nodes: list[ConceptNode]) -> dict[str, set[str]]:
    """For every node, the ids of the leaves under it (a leaf is under itself)."""
    children: dict[str, list[str]] = {node.node_id: [] for node in nodes}
    for node in nodes:
        for parent in node.parents:
            children[parent].append(node.node_id)
    is_leaf = {node.node_id: node.constraints is not None for node in nodes}
    result: dict[str, set[str]] = {}

    def visit(node_id: str) -> set[str]:
        if node_id not in result:
            below = {node_id} if is_leaf[node_id] else set()
            for child in children[node_id]:
                below |= visit(child)
            result[node_id] = below
        return result[node_id]

    for node in nodes:
        visit(node.node_id)
    return result


def nodes_frame(nodes: list[ConceptNode]) -> pl.DataFrame:
    """The nodes as a table: node_id, name, description, facet, is_leaf."""
    return pl.DataFrame(
        {
            "node_id": [n.node_id for n in nodes],
            "name": [n.name for n in nodes],
            "description": [n.description for n in nodes],
            "facet": [n.facet for n in nodes],
            "is_leaf": [n.constraints is not None for n in nodes],
        }
    )


def edges_frame(nodes: list[ConceptNode]) -> pl.DataFrame:
    """The edges as a table: parent_id, child_id."""
    pairs = [(parent, node.node_id) for node in nodes for parent in node.parents]
    return pl.DataFrame(pairs, schema=["parent_id", "child_id"], orient="row")


def node_id_of(value: str) -> str:
    """The leaf node of a scene attribute value ('7' -> 'digit 7', 'K' -> 'letter K')."""
    if value in DIGITS:
        return f"digit {value}"
    if value in VOWELS + CONSONANTS:
        return f"letter {value}"
    return value
