"""Alternative class names: how people name the world's concepts, to measure matching.

Two disjoint sets, each with unrelated names (animals, instruments, objects) that matching
must leave not covered. TUNING names may choose matching's constants; EVALUATION names are
only reported on, and no related one is, or names as its thing, one of the concept graph's
own phrases (its names, description parts, synonyms and things), so that their coverage
measures understanding rather than look-up. A name's node is the concept it means.
"""

from dataclasses import dataclass

from hubscout.data.world import CONSONANTS, DIGIT_WORDS, DIGITS, VOWELS


@dataclass(frozen=True)
class AlternativeName:
    """A class name and the node it means (None: unrelated to every node)."""

    name: str
    node_id: str | None


# node id -> (tuning names, evaluation names)
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "circle": (
        ("a round disc", "shaped like a coin"),
        ("a dot shape", "a circular shape", "the shape of a plate"),
    ),
    "ring": (
        ("a hoop shape", "shaped like a donut"),
        ("an o-ring", "a circle with a hole", "shaped like a lifebuoy"),
    ),
    "crescent": (
        ("a moon crescent", "shaped like a croissant"),
        ("a lunar crescent", "a curved moon shape", "a waning moon"),
    ),
    "triangle": (
        ("a three-cornered shape", "shaped like a slice of pizza"),
        ("a triangular shape", "a trilateral", "shaped like a traffic cone"),
    ),
    "square": (
        ("a square block", "shaped like a sticky note"),
        ("a quadrate", "a four-cornered block", "shaped like a napkin"),
    ),
    "diamond": (
        ("a rhomb", "shaped like a kite"),
        ("a lozenge outline", "a slanted square", "shaped like a cut gem"),
    ),
    "pentagon": (
        ("a pentagonal shape", "shaped like home plate"),
        ("a five-cornered shape", "a five-edged figure", "a regular pentagon"),
    ),
    "hexagon": (
        ("a hexagonal shape", "shaped like a honeycomb"),
        ("a six-cornered shape", "a six-edged figure", "shaped like a bolt head"),
    ),
    "star": (
        ("a star shape", "shaped like a starfish"),
        ("a star emblem", "a five-point star", "shaped like a sea star"),
    ),
    "cross": (
        ("a plus symbol", "shaped like a first-aid sign"),
        ("a cross mark", "an addition sign", "a greek cross"),
    ),
    "red": (
        ("bright scarlet", "the colour of a tomato"),
        ("cherry red", "ruby", "the colour of a strawberry"),
    ),
    "crimson": (
        ("deep maroon", "the colour of red wine"),
        ("burgundy", "oxblood", "the colour of dried blood"),
    ),
    "orange": (
        ("tangerine orange", "the colour of a pumpkin"),
        ("apricot", "marigold", "the colour of an orange peel"),
    ),
    "yellow": (
        ("lemon", "the colour of a banana"),
        ("canary yellow", "daffodil yellow", "the colour of butter"),
    ),
    "pink": (
        ("rose pink", "the colour of bubble gum"),
        ("salmon pink", "blush", "the colour of a flamingo's feathers"),
    ),
    "brown": (
        ("chocolate", "the colour of coffee"),
        ("chestnut", "mocha", "the colour of tree bark"),
    ),
    "olive": (
        ("olive drab", "the colour of an olive"),
        ("khaki green", "military green", "the colour of pickles"),
    ),
    "green": (
        ("leafy green", "the colour of grass"),
        ("kelly green", "forest green", "the colour of a lawn"),
    ),
    "teal": (
        ("turquoise blue", "the colour of a peacock feather"),
        ("aqua", "petrol blue", "the colour of a lagoon"),
    ),
    "blue": (
        ("azure blue", "the colour of the sky"),
        ("ultramarine", "cornflower blue", "the colour of the ocean"),
    ),
    "navy": (
        ("dark navy", "the colour of a sailor's uniform"),
        ("marine blue", "indigo", "the colour of a police uniform"),
    ),
    "purple": (
        ("violet purple", "the colour of a grape"),
        ("mulberry", "amethyst", "the colour of an eggplant"),
    ),
    "solid": (("plain colour", "unpatterned"), ("no pattern", "flat colour", "unprinted")),
    "striped": (
        ("stripes", "patterned like a zebra"),
        ("pinstripes", "bands of colour", "patterned like a deck chair"),
    ),
    "dotted": (("polka dots", "spots"), ("dots", "speckled", "patterned like a leopard")),
    "checkered": (
        ("checks", "patterned like a chessboard"),
        ("gingham", "a checked pattern", "patterned like a checkers board"),
    ),
    "small": (("a small object", "little"), ("petite", "a teeny object", "small-sized")),
    "large": (("a large object", "big"), ("enormous", "a giant object", "oversized")),
    "round shape": (("a round shape",), ("a curvy shape", "a rounded figure")),
    "polygon": (("a polygon",), ("a many-sided shape", "a shape with corners")),
    "pointed shape": (("a spiky figure",), ("a pointy shape",)),
    "warm colour": (("a warm colour",), ("a warm shade", "a fiery colour")),
    "cool colour": (("a cool colour",), ("a cool shade", "an icy colour")),
    "dark colour": (("a dark colour",), ("a deep colour", "a sombre colour")),
    "letter": (("a letter",), ("an alphabetic character",)),
    "digit": (("a digit",), ("a numeric character",)),
    "vowel": (("a vowel",), ("a vowel character",)),
    "consonant": (("a consonant",), ("a consonant character",)),
}
for _digit in DIGITS:
    _NAMES[f"digit {_digit}"] = (
        (f"the digit {_digit}",),
        (f"a printed {_digit}", f"the {DIGIT_WORDS[int(_digit)]} digit"),
    )
for _letter in VOWELS + CONSONANTS:
    _NAMES[f"letter {_letter}"] = (
        (f"the letter {_letter}",),
        (f"a printed {_letter}", f"the character {_letter}"),
    )

# Unrelated names, among them things of a colour, shape or pattern that no node has
_UNRELATED = (
    (
        "teapot",
        "table",
        "a horse",
        "violin",
        "a bicycle",
        "cathedral",
        "keyboard",
        "elephant",
        "the colour of snow",
        "the colour of charcoal",
        "shaped like a guitar",
        "patterned like marble",
    ),
    (
        "a giraffe",
        "trumpet",
        "a penguin",
        "cello",
        "a lighthouse",
        "sofa",
        "a zebra",
        "piano",
        "the colour of milk",
        "the colour of silver",
        "shaped like a bottle",
        "patterned like tree rings",
    ),
)


def _names(split: int) -> tuple[AlternativeName, ...]:
    related = [AlternativeName(n, node) for node, names in _NAMES.items() for n in names[split]]
    return (*related, *(AlternativeName(n, None) for n in _UNRELATED[split]))


TUNING_NAMES = _names(0)
EVALUATION_NAMES = _names(1)


def names_of(node_id: str, split: str) -> tuple[str, ...]:
    """The alternative names of a node in the `tuning` or `evaluation` set."""
    return _NAMES.get(node_id, ((), ()))[{"tuning": 0, "evaluation": 1}[split]]
