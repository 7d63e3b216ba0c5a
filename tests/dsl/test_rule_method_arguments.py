"""A rule method's argument count is checked before its field, as Python checks a call's
arguments before the method runs: both implementations give the reference's TypeError,
on upstream-style entities and on rows of the column store (issue 16, fuzzing item 1)."""

from __future__ import annotations

import pytest

from mom.offline import entity_from_spec
from mom.runtime.table import SampleTable


def upstream_entity():  # type: ignore[no-untyped-def]
    return entity_from_spec({"name": "host", "stats": [{"other": 1}]}, fields=["other"])


def table_row():  # type: ignore[no-untyped-def]
    table = SampleTable(["other"], history=3, capacity=1)
    row = table.add_row("host")
    table.append(row, {"other": 1})
    return table.view(row)


CASES = [
    ('(Host.Stat "mem_free" 1 2)', "takes from 2 to 3 positional arguments but 4 were given"),
    ('(Host.StatAvg "nope" 1)', "takes 2 positional arguments but 3 were given"),
    ("(Host.Stat)", "missing 1 required positional argument: 'name'"),
    ('(Host.Control "x")', "missing 1 required positional argument: 'val'"),  # upstream's name
    ('(Host.GetControl "x" 1)', "takes 2 positional arguments but 3 were given"),
]


@pytest.mark.parametrize("make", [upstream_entity, table_row], ids=["entity", "row"])
@pytest.mark.parametrize(("text", "message"), CASES, ids=[case[0] for case in CASES])
def test_argument_count_before_field(impl, make, text, message):  # type: ignore[no-untyped-def]
    from mom.dsl import program as reference

    host = make()
    with pytest.raises(TypeError) as expected:
        reference.compile_policy(text).evaluate(host, [])
    with pytest.raises(TypeError) as caught:
        impl.compile_policy(text).evaluate(make(), [])
    assert str(caught.value) == str(expected.value)
    assert str(caught.value).endswith(message)
