"""The concept graph: a DAG of concept nodes over the world, each with a description.

Leaves are single concepts (a colour, a shape, a digit ...); internal nodes group them ("warm
colour", "polygon", "character"); a node may have several parents ("crimson" is both a warm
and a dark colour). A node's probe images are scenes that show its concept; internal nodes
pool the probes of their descendants.

Like MLL's graph, which takes lemmas from WordNet and descriptions from a language model,
each node also carries synonyms (other names of the concept) and everyday things that have
it ("grass" for green, "a coin" for circle, "a zebra" for striped): what people say when they
name a class "the colour of grass" or "shaped like a coin".
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace

import polars as pl

from hubscout.data.world import (
    COLOUR_GROUPS,
    COLOURS,
    CONSONANTS,
    DIGIT_WORDS,
    DIGITS,
    PATTERNS,
    SHAPE_CATEGORIES,
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
    synonyms: tuple[str, ...] = ()
    things: tuple[str, ...] = ()


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
_SHAPE_PARENTS = {shape: (category,) for shape, category in SHAPE_CATEGORIES.items()}
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
    colour: tuple(f"{group} colour" for group in groups) for colour, groups in COLOUR_GROUPS.items()
}
# Other names of each node, and everyday things that have its concept (the lexicon).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "shape": ("form", "figure", "outline"),
    "round shape": ("curved shape", "rounded form"),
    "polygon": ("angular shape", "straight-edged figure"),
    "pointed shape": ("spiky shape", "shape with arms"),
    "colour": ("color", "hue", "tint"),
    "warm colour": ("warm color", "warm tone", "warm hue"),
    "cool colour": ("cool color", "cool tone", "cold hue"),
    "dark colour": ("dark color", "deep shade", "dark tone"),
    "pattern": ("texture", "print", "design"),
    "size": ("scale", "dimension"),
    "character": ("symbol", "glyph", "written sign"),
    "digit": ("number", "numeral", "figure"),
    "letter": ("alphabet letter", "capital"),
    "vowel": ("vowel sound letter",),
    "consonant": ("consonant letter",),
    "circle": ("disc", "round dot", "disk"),
    "ring": ("annulus", "hoop", "loop"),
    "crescent": ("crescent moon", "sickle shape", "half moon"),
    "triangle": ("three-sided shape", "trigon"),
    "square": ("box", "four-sided square"),
    "diamond": ("rhombus", "lozenge"),
    "pentagon": ("five-sided polygon", "five-sided shape"),
    "hexagon": ("six-sided polygon", "six-sided shape"),
    "star": ("five-pointed star", "pentagram"),
    "cross": ("plus sign", "plus"),
    "red": ("bright red", "scarlet", "vermilion"),
    "crimson": ("dark red", "maroon", "deep red"),
    "orange": ("tangerine", "amber"),
    "yellow": ("lemon yellow", "golden yellow"),
    "pink": ("rose", "light red", "rosy pink"),
    "brown": ("chocolate brown", "tan", "umber"),
    "olive": ("olive green", "khaki", "drab green"),
    "green": ("grass green", "emerald", "leaf green"),
    "teal": ("blue-green", "turquoise", "cyan"),
    "blue": ("royal blue", "azure", "cobalt"),
    "navy": ("navy blue", "dark blue", "midnight blue"),
    "purple": ("violet", "lilac", "mauve"),
    "solid": ("plain", "uniform", "single-coloured"),
    "striped": ("stripy", "banded", "with stripes"),
    "dotted": ("polka-dot", "spotted", "dotty"),
    "checkered": ("chequered", "checkerboard", "chequerboard"),
    "small": ("tiny", "little", "miniature"),
    "large": ("big", "huge", "sizeable"),
}
_THINGS: dict[str, tuple[str, ...]] = {
    "circle": ("a coin", "a full moon", "a wheel", "a button"),
    "ring": ("a donut", "a wedding ring", "a tyre", "a bagel"),
    "crescent": ("a new moon", "a croissant", "a fingernail moon"),
    "triangle": ("a slice of pizza", "a yield sign", "a pyramid", "a sail"),
    "square": ("a sticky note", "a chessboard tile", "a floor tile"),
    "diamond": ("a kite", "a playing-card diamond", "a road warning sign"),
    "pentagon": ("the Pentagon building", "a baseball home plate"),
    "hexagon": ("a honeycomb cell", "a hex nut", "a snowflake outline"),
    "star": ("a starfish", "a sheriff's badge", "a Christmas tree topper"),
    "cross": ("a first-aid sign", "a Swiss flag", "a hospital sign"),
    "red": ("a stop light", "a tomato", "a fire engine", "blood"),
    "crimson": ("red wine", "a beetroot", "a garnet"),
    "orange": ("a tangerine", "a pumpkin", "a carrot", "a goldfish"),
    "yellow": ("a lemon", "a banana", "a sunflower", "a school bus"),
    "pink": ("a flamingo", "bubble gum", "a piglet"),
    "brown": ("chocolate", "wood", "coffee", "a bear"),
    "olive": ("an olive", "army fatigues", "moss"),
    "green": ("grass", "a leaf", "a lime", "a frog"),
    "teal": ("tropical sea water", "a peacock feather", "a mallard's head"),
    "blue": ("the sky", "a sapphire", "a blueberry"),
    "navy": ("a sailor's uniform", "the night sky", "denim"),
    "purple": ("an aubergine", "a grape", "lavender", "a plum"),
    "solid": ("a plain t-shirt", "a painted wall"),
    "striped": ("a zebra", "a barcode", "a candy cane", "a tiger"),
    "dotted": ("a ladybird", "a dalmatian", "dice pips"),
    "checkered": ("a chessboard", "a racing flag", "a picnic blanket"),
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
    return [_with_lexicon(node) for node in nodes]


def _with_lexicon(node: ConceptNode) -> ConceptNode:
    """The node with its synonyms and things (characters get theirs from their symbol)."""
    symbol = (node.constraints or {}).get("symbol")
    if node.facet == "character" and isinstance(symbol, str):
        if symbol in DIGITS:
            synonyms = (f"number {DIGIT_WORDS[int(symbol)]}", f"numeral {symbol}")
        else:
            synonyms = (f"capital {symbol}", f"uppercase {symbol}")
        return replace(node, synonyms=synonyms)
    return replace(
        node, synonyms=_SYNONYMS.get(node.node_id, ()), things=_THINGS.get(node.node_id, ())
    )


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
    """The nodes as a table: node_id, name, description, facet, is_leaf, synonyms and things
    (lists of strings)."""
    return pl.DataFrame(
        {
            "node_id": [n.node_id for n in nodes],
            "name": [n.name for n in nodes],
            "description": [n.description for n in nodes],
            "facet": [n.facet for n in nodes],
            "is_leaf": [n.constraints is not None for n in nodes],
            "synonyms": [list(n.synonyms) for n in nodes],
            "things": [list(n.things) for n in nodes],
        },
        schema_overrides={"synonyms": pl.List(pl.String), "things": pl.List(pl.String)},
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
