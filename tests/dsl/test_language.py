"""Every behaviour of spec section 5, table-driven, against both implementations."""

from __future__ import annotations

import pytest

from tests.dsl.cases import ALL, BINDINGS, Raises
from tests.dsl.same import same


def evaluate(impl, source):  # type: ignore[no-untyped-def]
    return impl.compile_policy(source).execute(dict(BINDINGS))


@pytest.mark.parametrize(("source", "expected"), ALL, ids=[repr(case[0])[:60] for case in ALL])
def test_case(impl, source, expected):  # type: ignore[no-untyped-def]
    if isinstance(expected, Raises):
        with pytest.raises(expected.type) as caught:
            evaluate(impl, source)
        assert type(caught.value) is expected.type
        text = repr(caught.value.args[0]) if expected.type is KeyError else str(caught.value)
        assert text == expected.message
    else:
        results = evaluate(impl, source)
        assert same(results, expected), f"{results!r} != {expected!r}"
