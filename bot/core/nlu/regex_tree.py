"""Python's regex parse tree, read in one place.

Two checks need a pattern's structure, not only whether it matches: the catalog loader refuses
patterns that could backtrack badly (unbounded or nested repetition: bot.core.nlu.catalog), and
the engine finds the plain text every match contains, for a cheap substring test before each
regex search (bot.core.nlu.patterns). Python has no public API for the parse tree. Its parser,
`re._parser` (`sre_parse` until 3.11, which also added atomic groups and possessive repeats),
is private, and the shapes of its nodes may change in any release.

So it is read here only, and turned into the few node kinds those checks need.
tests/core/nlu/test_regex_tree.py pins every shape read here for the running Python: an upgrade
that changes one fails that test, by name, instead of quietly weakening both checks. A node kind
this module does not know raises UnknownNode; it is never skipped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from re import _constants, _parser  # private, see above: nowhere else in the project
from typing import Any, Iterable, Union


@dataclass(frozen=True)
class Literal:
    """One character, as written (matched ignoring case under re.IGNORECASE)."""

    char: str


@dataclass(frozen=True)
class Group:
    """A capturing, flagged (`(?i:...)`) or atomic group: its content matches exactly once.
    A plain `(?:...)` never shows up: the parser puts its content in line."""

    body: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    """`x*`, `x+`, `x?`, `x{m,n}`, greedy, lazy or possessive; `high` None: no upper bound."""

    low: int
    high: int | None
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Alternatives:
    """`ab|cd`, and a conditional group's `(?(1)yes|no)`: exactly one option matches. (A choice
    of single characters, `a|b`, is a character set to the parser: an Other.)"""

    options: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Lookaround:
    """`(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`: checked where it stands, consumes nothing."""

    body: tuple[Node, ...]


@dataclass(frozen=True)
class Other:
    """Matches with no pattern inside it: a character set or class, any character, an anchor,
    a back-reference, a character other than one. `kind` is the parser's name for it."""

    kind: str


Node = Union[Literal, Group, Repeat, Alternatives, Lookaround, Other]


class UnknownNode(ValueError):
    """The parser produced a node kind this module does not read."""


_REPEATS = frozenset({_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT})
_LOOKAROUNDS = frozenset({_constants.ASSERT, _constants.ASSERT_NOT})
_LEAVES = frozenset({_constants.ANY, _constants.IN, _constants.AT, _constants.NOT_LITERAL, _constants.GROUPREF,
                     _constants.CATEGORY, _constants.FAILURE})


def parse(pattern: str, flags: int = 0) -> tuple[Node, ...]:
    """`pattern` as a tree of the nodes above. re.error for an invalid pattern; UnknownNode
    when this Python's parser produced something this module does not know."""
    return _nodes(_parser.parse(pattern, flags))


def _nodes(items: Iterable[tuple[Any, Any]]) -> tuple[Node, ...]:
    return tuple(_node(op, arg) for op, arg in items)


def _node(op: Any, arg: Any) -> Node:
    # Each shape read here is pinned by tests/core/nlu/test_regex_tree.py.
    if op == _constants.LITERAL:                   # code point
        return Literal(chr(arg))
    if op == _constants.SUBPATTERN:                # (group number or None, add flags, del flags, body)
        return Group(_nodes(arg[3]))
    if op == _constants.ATOMIC_GROUP:              # body
        return Group(_nodes(arg))
    if op in _REPEATS:                             # (low, high or MAXREPEAT, body)
        low, high, body = arg
        return Repeat(low, None if high == _constants.MAXREPEAT else high, _nodes(body))
    if op == _constants.BRANCH:                    # (None, [option, ...])
        return Alternatives(tuple(_nodes(option) for option in arg[1]))
    if op == _constants.GROUPREF_EXISTS:           # (group number, yes, no or None)
        _group, yes, no = arg
        return Alternatives((_nodes(yes), _nodes(no) if no is not None else ()))
    if op in _LOOKAROUNDS:                         # (direction: 1 ahead, -1 behind, body)
        return Lookaround(_nodes(arg[1]))
    if op in _LEAVES:
        return Other(str(op))
    raise UnknownNode(f"re._parser produced a {op} node, which bot/core/nlu/regex_tree.py does not read "
                      f"(Python {sys.version_info.major}.{sys.version_info.minor})")
