"""The checked variant (the policy engine's, values not collected) fails on a top-level
value that upstream's results line cannot show, as the reference does, also when the
value is a list a ``with`` or a function made, which the VM drops early when it holds no
container and no int past 64 bits (then it cannot fail)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.implementations import load_implementation

FUNCTION = "(def f (g) (with Guests h (* h {value})))"
CASES = {
    # the function's list is the with's item: dropped early unless it holds a big int
    "small ints": (FUNCTION.format(value="g") + " (with Guests g (f g))", False),
    "floats": ("(def f (g) (with Guests h (if (> h 1) 0.5 2.5))) (with Guests g (f g))", False),
    "a big int in the list": (FUNCTION.format(value="(<< g 14300)") + " (with Guests g (f g))", True),
    "a big int past the first": (FUNCTION.format(value="(if (> h 2) (<< 1 14300) 1)") + " (with Guests g (f g))", True),
    # the list also held by a variable: kept, and checked at the end
    "held by a variable": (
        FUNCTION.format(value="(<< g 14300)") + " (defvar keep 0) (with Guests g {(set keep (f g)) keep})",
        True,
    ),
    "held, small": (FUNCTION.format(value="g") + " (defvar keep 0) (with Guests g {(set keep (f g)) keep})", False),
    # nested lists: a container inside is kept and walked
    "nested": ("(def f (g) (with Guests h (with Guests k (<< k 14300)))) (with Guests g (f g))", True),
    "nested small": ("(def f (g) (with Guests h (with Guests k k))) (with Guests g (f g))", False),
    "an int past 64 bits but printable": (FUNCTION.format(value="(<< g 70)") + " (with Guests g (f g))", False),
}


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


def _outcome(engine: Any, text: str) -> Any:
    try:
        engine.compile_policy(text).evaluate(None, [1, 2, 3], results=False)
        return "ran"  # (the reference returns its values, the VM none: not compared)
    except Exception as error:  # noqa: BLE001  (the same error both ways)
        return (type(error), str(error)[:80])


@pytest.mark.fastpath
@pytest.mark.parametrize("name", sorted(CASES))
def test_checked_lists_fail_as_the_reference(engines: Any, name: str) -> None:
    reference, fast = engines
    text, fails = CASES[name]
    expected = _outcome(reference, text)
    assert isinstance(expected, tuple) is fails, expected
    assert _outcome(fast, text) == expected
