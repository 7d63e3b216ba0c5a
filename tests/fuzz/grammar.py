"""Policy text for fuzzing: the language's grammar, then broken on purpose.

The scanner's every token kind (spec 5.1: floats like ``.3`` and ``10.0e3``, hex,
octal, exponent integers, both string quotes with backslashes, dotted symbols,
operators, comments, characters that end the text), the grammar's three brackets,
every builtin with right and wrong argument shapes, entity attributes and rule
methods, IO-tune records; then texts mutated (characters dropped, inserted or
repeated, brackets unbalanced), nested past the limits, or plain noise.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["policy_texts", "FIELDS", "VARIABLES"]

FIELDS = ["mem_free", "mem_available", "swap_usage", "balloon_cur", "nope"]
VARIABLES = ["a", "b", "x", "Host", "Guests", "guest", "t", "abs", "add", "eval", "nil"]

NUMBERS = st.sampled_from(
    [
        "0", "1", "-1", "7", "-0", "00.5", ".3", "-.5", "10.0e3", "1.5.3", "0x1F", "-0x10", "0X0", "0o7", "0o9",
        "100e-2", "1e5", "2147483648", "9223372036854775807", "-9223372036854775809", "123456789012345678901234567890",
        "1.7976931348623157e308", "4.9e-324", "125f56", "0b1", "0O7", "10abc", "1.", "007", "1e", "0xg", "0o",
    ]
)  # fmt: skip
STRINGS = st.sampled_from(['"s"', "'it'", '"a\\"b"', "''", '"two\nlines"', "'x' 'y'", '"\\\\"', '"(not code)"'])
SYMBOLS = st.sampled_from(
    VARIABLES
    + [f"Host.{f}" for f in FIELDS]
    + ["guest.mem_free", "guest.io_tune", "t.maximum", "t.current", "t.name", "x.real", "a-b", "x.y.z", "e3"]
    + ["Host._policy_values", "guest.__class__", "t.setTotalBytesSec", "Guests.count", "and", "or", "not"]
    # foreign objects (a string, an int): public attributes as upstream's, the sandbox's denials
    + ["s", "s.upper", "s.format", "x.imag", "x.bit_length", "x.to_bytes", "s.__class__"]
)
OPERATORS = st.sampled_from("+ - * / < > <= >= == != << >>".split())
HEADS = st.sampled_from(
    "+ - * / < > <= >= == != << >> and or not min max null valid abs debug eval if let defvar set setq def defun "
    "with add sub mul div lt gt lte gte eq neq shl shr f g nosuch".split()
)
METHODS = st.sampled_from(
    ["Stat", "StatAvg", "Prop", "Control", "GetControl", "SetVar", "GetVar", "Nope"]
    + ["upper", "split", "count", "format", "center", "bit_length", "real"]  # foreign objects' (s, x, a list)
)
JUNK = st.sampled_from(["@", "=", "!", "$", ";", "...", ".", "`", "\\", "\x00", "é", "\t", "\r"])


@st.composite
def atoms(draw: Any) -> str:
    return draw(st.one_of(NUMBERS, STRINGS, SYMBOLS, OPERATORS))


@st.composite
def forms(draw: Any, depth: int = 0) -> str:
    if depth >= 4 or draw(st.integers(0, 9)) < 3:
        return draw(atoms())
    sub = forms(depth + 1)
    kind = draw(st.integers(0, 11))
    if kind <= 3:  # a call of anything with 0 to 4 arguments
        head = draw(st.one_of(HEADS, SYMBOLS, NUMBERS, STRINGS))
        args = draw(st.lists(sub, max_size=4))
        return "(" + " ".join([head, *args]) + ")"
    if kind == 4:  # a rule method of an entity, any argument count
        who = draw(st.sampled_from(["Host", "guest", "t", "x", "s", "Guests"]))
        args = draw(st.lists(st.one_of(st.builds(lambda f: f'"{f}"', st.sampled_from(FIELDS)), sub), max_size=4))
        return f"({who}.{draw(METHODS)} {' '.join(args)})"
    if kind == 5:  # an IO-tune setter
        name = draw(st.sampled_from(["setTotalBytesSec", "setReadIopsSec", "ioTune", "setNope"]))
        return f"(with guest.io_tune t (t.{name} {' '.join(draw(st.lists(sub, max_size=2)))}))"
    if kind == 6:  # let, well or badly shaped
        bindings = draw(
            st.one_of(
                st.builds(lambda v, x: f"(({v} {x}))", st.sampled_from(VARIABLES), sub),
                st.builds(lambda v, x, w, y: f"(({v} {x}) ({w} {y}))", st.sampled_from(VARIABLES), sub,
                          st.sampled_from(VARIABLES), sub),
                st.sampled_from(["()", "x", "((x))", "((1 2))", "(((x) 1))", "[(x 1)]", "((x 1 2))"]),
            )
        )  # fmt: skip
        return f"(let {bindings} {' '.join(draw(st.lists(sub, max_size=2)))})"
    if kind == 7:  # def and a call of it
        params = draw(st.sampled_from(["(p)", "(p q)", "()", "p", "(1)"]))
        body = draw(sub)
        return f"(def f {params} {body}) (f {' '.join(draw(st.lists(sub, max_size=3)))})"
    if kind == 8:  # with over the guests, or over anything
        over = draw(st.sampled_from(["Guests", "guest.io_tune", "x", "nosuch", "Host"]))
        return f"(with {over} {draw(st.sampled_from(['g', 'guest', 't', '1']))} {draw(sub)})"
    if kind == 9:  # if with 2 to 4 arguments
        return "(if " + " ".join(draw(st.lists(sub, min_size=2, max_size=4))) + ")"
    if kind == 10:  # defvar / set
        head = draw(st.sampled_from(["defvar", "set", "setq"]))
        return f"({head} {draw(st.one_of(st.sampled_from(VARIABLES), NUMBERS))} {draw(sub)})"
    opening, closing = draw(st.sampled_from([("[", "]"), ("{", "}"), ("(", ")")]))
    return opening + " ".join(draw(st.lists(sub, max_size=4))) + closing


@st.composite
def programs(draw: Any) -> str:
    parts = draw(st.lists(forms(), min_size=1, max_size=4))
    separators = st.sampled_from([" ", "\n", "\n# a comment\n", "  ", "\n\n"])
    text = parts[0]
    for part in parts[1:]:
        text += draw(separators) + part
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from(["\n# trailing comment", "# only", "\n"]))
    return text


@st.composite
def mutated(draw: Any) -> str:
    text = draw(programs())
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        where = draw(st.integers(0, len(text)))
        how = draw(st.integers(0, 4))
        if how == 0:
            text = text[:where] + text[where + 1 :]
        elif how == 1:
            text = text[:where] + draw(st.one_of(JUNK, st.sampled_from(list("()[]{}\"'#")))) + text[where:]
        elif how == 2:
            text = text[:where] + draw(atoms()) + " " + text[where:]
        elif how == 3:
            text = text[:where] + text[where:][:8] * draw(st.integers(2, 4)) + text[where + 8 :]
        else:
            text = text[:where] + ")" * draw(st.integers(1, 3)) + text[where:]
    return text


@st.composite
def deep(draw: Any) -> str:
    """Nesting around the limits (and upstream's own ceilings)."""
    levels = draw(st.sampled_from([98, 99, 100, 101, 102, 120, 150, 400]))
    opening, closing = draw(
        st.sampled_from([("(+ 1 ", ")"), ("(", ")"), ("[", "]"), ("{", "}"), ("(not ", ")"), ("(let ((a 1)) ", ")")])
    )
    middle = draw(st.one_of(atoms(), st.just("")))
    recursion = draw(st.sampled_from(["", "(def r (n) (r (+ n 1))) (r 0)", "(def r (n) (if n (r (- n 1)) 0)) (r 95)"]))
    return recursion + " " + opening * levels + middle + closing * levels


noise = st.text(alphabet=st.sampled_from(list("()[]{} \n\t\"'#.-+0123456789abexoXAZ_@=;\\")), max_size=60)


def policy_texts() -> st.SearchStrategy[str]:
    """Mostly grammatical programs, then mutants, deep nests and noise."""
    return st.one_of(programs(), programs(), programs(), mutated(), mutated(), deep(), noise)
