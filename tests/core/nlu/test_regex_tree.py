"""bot/core/nlu/regex_tree.py: the one reader of Python's private regex parse tree.

The first test pins, for the running Python, every parser shape that module reads. If a Python
upgrade changes one, it fails here, naming the pattern and the version, before the catalog's
backtracking check or the engine's required-text test can silently go wrong.
"""

from __future__ import annotations

import re
import sys
from re import _constants, _parser

import pytest

from bot.core.nlu import regex_tree as rt
from bot.core.nlu.regex_tree import Alternatives, Group, Literal, Lookaround, Other, Repeat

MAX = "MAXREPEAT"


def raw(value: object) -> object:
    """The parser's output with its named constants as their names, nested lists as lists."""
    if isinstance(value, _parser.SubPattern):
        return [(str(op), raw(arg)) for op, arg in value]
    if isinstance(value, (list, tuple)):
        return type(value)(raw(item) for item in value)
    if isinstance(value, _constants._NamedIntConstant):
        return str(value)
    return value


def lit(text: str) -> list[tuple[str, int]]:
    return [("LITERAL", ord(c)) for c in text]


# Every shape bot/core/nlu/regex_tree.py reads: (pattern, what re._parser gives for it).
SHAPES = [
    ("ab", lit("ab")),
    ("(?:ab)", lit("ab")),                                                  # put in line
    ("(?P<x>ab)", [("SUBPATTERN", (1, 0, 0, lit("ab")))]),
    ("(?i:ab)", [("SUBPATTERN", (None, re.IGNORECASE, 0, lit("ab")))]),
    ("(?>ab)", [("ATOMIC_GROUP", lit("ab"))]),
    ("a{2,3}", [("MAX_REPEAT", (2, 3, lit("a")))]),
    ("a*", [("MAX_REPEAT", (0, MAX, lit("a")))]),
    ("a+?", [("MIN_REPEAT", (1, MAX, lit("a")))]),
    ("a*+", [("POSSESSIVE_REPEAT", (0, MAX, lit("a")))]),
    ("ab|cd", [("BRANCH", (None, [lit("ab"), lit("cd")]))]),
    ("a|b", [("IN", lit("ab"))]),                                           # single characters: a set
    ("(a)(?(1)bc|de)", [("SUBPATTERN", (1, 0, 0, lit("a"))), ("GROUPREF_EXISTS", (1, lit("bc"), lit("de")))]),
    ("(a)(?(1)bc)", [("SUBPATTERN", (1, 0, 0, lit("a"))), ("GROUPREF_EXISTS", (1, lit("bc"), None))]),
    ("(?=ab)", [("ASSERT", (1, lit("ab")))]),
    ("(?<!ab)", [("ASSERT_NOT", (-1, lit("ab")))]),
    (r"\d.[^a]^\b", [("IN", [("CATEGORY", "CATEGORY_DIGIT")]), ("ANY", None), ("NOT_LITERAL", ord("a")),
                     ("AT", "AT_BEGINNING"), ("AT", "AT_BOUNDARY")]),
    (r"(a)\1", [("SUBPATTERN", (1, 0, 0, lit("a"))), ("GROUPREF", 1)]),
]


@pytest.mark.parametrize("pattern, shape", SHAPES, ids=[p for p, _ in SHAPES])
def test_the_parse_tree_shapes_regex_tree_reads(pattern, shape):
    got = raw(_parser.parse(pattern, re.IGNORECASE))
    assert got == shape, (
        f"re._parser's tree for {pattern!r} changed on Python {sys.version.split()[0]}: got {got!r}. "
        "bot/core/nlu/regex_tree.py reads these shapes; update it, then this table.")


@pytest.mark.parametrize("pattern, tree", [
    ("ab", (Literal("a"), Literal("b"))),
    ("(?:ab)(?P<x>c)(?i:d)(?>e)", (Literal("a"), Literal("b"), Group((Literal("c"),)), Group((Literal("d"),)),
                                   Group((Literal("e"),)))),
    ("a{2,3}b*c+?d*+", (Repeat(2, 3, (Literal("a"),)), Repeat(0, None, (Literal("b"),)),
                        Repeat(1, None, (Literal("c"),)), Repeat(0, None, (Literal("d"),)))),
    ("ab|cd", (Alternatives(((Literal("a"), Literal("b")), (Literal("c"), Literal("d")))),)),
    ("(a)(?(1)b|c)(?(1)d)", (Group((Literal("a"),)), Alternatives(((Literal("b"),), (Literal("c"),))),
                             Alternatives(((Literal("d"),), ())))),
    ("(?=a)(?!b)(?<=c)(?<!d)", tuple(Lookaround((Literal(c),)) for c in "abcd")),
    (r"\d.[^a]\b(x)\1", (Other("IN"), Other("ANY"), Other("NOT_LITERAL"), Other("AT"), Group((Literal("x"),)),
                         Other("GROUPREF"))),
])
def test_parse_gives_the_plain_nodes(pattern, tree):
    assert rt.parse(pattern, re.IGNORECASE) == tree


def test_an_unknown_node_kind_is_an_error_not_skipped():
    with pytest.raises(rt.UnknownNode, match="MARK.*regex_tree.py"):
        rt._nodes([(_constants.MARK, 0)])  # a compiler opcode the parser never produces today


def test_an_invalid_pattern_is_re_error():
    with pytest.raises(re.error):
        rt.parse("(unclosed")
