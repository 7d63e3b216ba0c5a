"""Scanner and parser of MOM's policy language: source text to a tree of forms.

Reproduces upstream's SPARK scanner token for token (spec section 5.1), including its
quirks: the first rule that matches wins (not the longest), a comment's newline is not
counted, and any character no rule accepts silently ends the input.  The parser is
iterative, so nesting depth is a checked limit and never a RecursionError.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Union

from mom.dsl.limits import DEFAULT_LIMITS, Limits, ensure_recursion_limit
from mom.errors import PolicyError

__all__ = [
    "Token",
    "NumericToken",
    "Form",
    "Node",
    "Source",
    "ReadResult",
    "tokenize",
    "read",
    "number_value",
    "OPERATOR_NAMES",
]

#: operator token -> the builtin it names (``and or not min max null valid`` are
#: always scanned as symbols and map to themselves)
OPERATOR_NAMES = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "<": "lt",
    ">": "gt",
    "<=": "lte",
    ">=": "gte",
    "<<": "shl",
    ">>": "shr",
    "==": "eq",
    "!=": "neq",
}


class Token:
    """An atom of the source: ``kind`` is symbol, number, string or operator.

    ``value`` is the token text (for strings, the raw text between the quotes: upstream
    does no escape processing).  ``line`` counts lines the way upstream does; ``offset``
    is the character offset in the source, from which :class:`Source` gives the real
    line and column.
    """

    __slots__ = ("kind", "value", "line", "offset")

    def __init__(self, kind: str, value: str, line: int | None, offset: int = -1) -> None:
        self.kind = kind
        self.value = value
        self.line = line
        self.offset = offset

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, line={self.line})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return (self.kind, self.value) == (other.kind, other.value)

    def __hash__(self) -> int:
        return hash((self.kind, self.value))


class NumericToken(Token):
    """A number; ``type`` is float, hex, integer or octal (exponent integers are float)."""

    __slots__ = ("type",)

    def __init__(self, type_: str, value: str, line: int | None, offset: int = -1) -> None:
        super().__init__("number", value, line, offset)
        self.type = type_


class Form(list["Node"]):
    """A bracketed expression: a list of nodes, as upstream's parser returns.

    ``{a b}`` reads as ``[eval a b]`` with a synthetic ``eval`` head whose line is None,
    exactly as upstream.  ``bracket`` is the opening character.
    """

    __slots__ = ("bracket", "line", "offset", "end")

    def __init__(self, bracket: str, line: int | None, offset: int) -> None:
        # (no list.__init__: a new list is already empty)
        self.bracket = bracket
        self.line = line
        self.offset = offset
        self.end = offset


Node = Union[Token, Form, list]


def number_value(token: Token) -> int | float:
    """A number token's value, as upstream converts it when it evaluates the token.

    ``float()`` for float (and exponent) tokens, ``int(text, 0)`` for the others; the
    scanner accepts ``0o9``, so that raises ValueError here, as it does upstream.
    """
    text = token.value
    return float(text) if getattr(token, "type", None) == "float" else int(text, 0)


class Source:
    """Maps character offsets of a policy text to (line, column), both from 1."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts: list[int] | None = None  # found when first asked (errors are rare)

    def _starts(self) -> list[int]:
        starts = self._line_starts
        if starts is None:
            starts = self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return starts

    def position(self, offset: int) -> tuple[int, int]:
        starts = self._starts()
        index = bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        """The offset of a (line, column) :meth:`position` gave (a line past the end
        counts as the last)."""
        starts = self._starts()
        return starts[min(line, len(starts)) - 1] + column - 1

    def snippet(self, start: int, end: int, limit: int = 60) -> str:
        text = " ".join(self.text[start:end].split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


# The rules, with upstream's result: at each position the first rule (in upstream's
# order, the alphabetical order of its rule names) that matches wins, not the longest.
# Python's alternation is ordered too, so one regex reproduces that.  Rules whose
# first characters cannot overlap may be reordered without changing the result, and
# are, for speed: whitespace and symbols (most of the text) first.  Only the numbers
# and operators overlap (``-``, digits, ``.``), and they keep upstream's relative
# order: float, hex, integer, exponent, octal, operator; the catch-all stays last.
# The float rule is written without upstream's nested ``(0|[1-9][0-9]*)*``, which
# accepts the same strings but backtracks exponentially on a long run of digits.
_RULES = [
    ("whitespace", r"\s+"),
    ("symbol", r"[A-Za-z_][A-Za-z0-9_\-.]*"),
    ("bracket", r"[()\[\]{}]"),
    # upstream's comment rule needs the newline, so a final comment without one falls
    # to the catch-all and "discards" the rest: nothing but itself.  Ending it at the
    # end of the text too gives the same tokens and reports no discarded input.
    ("comment", r"\#[^\n]*(?:\n|\Z)"),
    ("squote", r"'(?:[^'\\]|\\.)*'"),
    ("dquote", r'"(?:[^"\\]|\\.)*"'),
    ("float", r"-?[0-9]*\.[0-9]+(?:[Ee][+-]?[0-9]+)?"),
    ("hex", r"0[Xx][0-9A-Fa-f]+"),
    ("integer", r"-?(?:0(?![0-9oXx])|[1-9][0-9]*)(?![0-9eE])"),
    ("exponent", r"-?(?:0|[1-9][0-9]*)[Ee][+-]?[0-9]+"),
    ("octal", r"0o[0-9]+"),
    ("operator", r"<=|>=|<<|>>|==|!=|\+|-|\*|/|<|>"),
    ("default", r"[\s\S]+"),
]
# One match per token: the whitespace before it (group 1, possessive: whitespace comes
# first, and no other rule starts with it) and then the token, or the end of the text.
_SCANNER = re.compile(
    r"(\s*+)(?:" + "|".join(f"(?P<{name}>{rx})" for name, rx in _RULES[1:]) + r"|\Z)"
)
_NUMBER_TYPES = {"float": "float", "exponent": "float", "hex": "hex", "integer": "integer", "octal": "octal"}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


@dataclass
class ReadResult:
    """What :func:`read` found: the top-level forms, and any input it ignored."""

    forms: list[Node]
    source: Source
    #: offset where an unknown character made the scanner drop the rest, or None
    discarded_at: int | None = None


def tokenize(text: str) -> tuple[list[Token], int | None]:
    """Split ``text`` into tokens; also return where unknown input was dropped."""
    tokens: list[Token] = []
    append = tokens.append
    count = text.count
    line = 1
    # every position matches (the last rule takes anything, or the text ends), so the
    # matches tile the text and finditer walks them in order
    for m in _SCANNER.finditer(text):
        space, start = m.span(1)
        if start != space:
            line += count("\n", space, start)
        kind = m.lastgroup
        if kind == "symbol":
            append(Token("symbol", text[start : m.end()], line, start))
        elif kind == "bracket":
            value = text[start]
            append(Token(value, value, line, start))
        elif kind == "comment":
            pass  # upstream does not count the newline that ends a comment
        elif kind is None:
            break  # the end of the text
        elif kind == "default":
            return tokens, start
        elif kind == "operator":
            append(Token("operator", text[start : m.end()], line, start))
        elif kind == "squote" or kind == "dquote":
            append(Token("string", text[start + 1 : m.end() - 1], line, start))
        else:
            append(NumericToken(_NUMBER_TYPES[kind], text[start : m.end()], line, start))
    return tokens, None


def read(text: str, limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Parse policy text into top-level forms (upstream's ``value_list``).

    Raises :class:`PolicyError` ``"parse error"`` on unbalanced or mismatched brackets,
    with the position on the error.  Text with no tokens reads as no forms (upstream
    raised IndexError there).
    """
    if len(text) > limits.max_source_chars:
        raise PolicyError(
            f"policy too large: {len(text)} characters (limit {limits.max_source_chars})"
        )
    ensure_recursion_limit(limits)  # for everything that walks the forms (compilers, lint)
    source = Source(text)
    tokens, discarded_at = tokenize(text)
    top: list[Node] = []
    open_forms: list[Form] = []
    current: list[Node] = top
    for token in tokens:
        kind = token.kind
        if kind in _CLOSERS:
            if len(open_forms) >= limits.max_nesting:
                raise _error(
                    source, token, f"nesting deeper than {limits.max_nesting} levels on line {token.line}"
                )
            form = Form(kind, token.line, token.offset)
            if kind == "{":
                form.append(Token("symbol", "eval", None, token.offset))
            current.append(form)
            open_forms.append(form)
            current = form
        elif kind in (")", "]", "}"):
            if not open_forms:
                raise _parse_error(source, token, f"unexpected {kind!r}")
            form = open_forms.pop()
            if _CLOSERS[form.bracket] != kind:
                opened = "line %d, column %d" % source.position(form.offset)
                raise _parse_error(
                    source, token, f"{kind!r} does not close {form.bracket!r} opened at {opened}"
                )
            form.end = token.offset + 1
            current = open_forms[-1] if open_forms else top
        else:
            current.append(token)
    if open_forms:
        form = open_forms[-1]
        opened = "line %d, column %d" % source.position(form.offset)
        raise PolicyError(
            "parse error",
            line=form.line,
            position=source.position(form.offset),
            form=source.snippet(form.offset, len(text)),
            detail=f"{form.bracket!r} opened at {opened} is never closed",
        )
    return ReadResult(top, source, discarded_at)


def _error(source: Source, token: Token, message: str, detail: str | None = None) -> PolicyError:
    return PolicyError(
        message,
        line=token.line,
        position=source.position(token.offset),
        form=source.snippet(token.offset, token.offset + 40),
        detail=detail,
    )


def _parse_error(source: Source, token: Token, detail: str) -> PolicyError:
    return _error(source, token, "parse error", detail)
