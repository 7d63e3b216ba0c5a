"""The column store: values stored and read back exactly, rings, rows freed and reused."""

from __future__ import annotations

import math
import struct

from mom.runtime.table import GuestSet, SampleTable
from tests.dsl.same import same

#: one of each kind a cell stores: None, bool, int64 (edges), float (bits), objects
VALUES = {
    "none": None,
    "true": True,
    "false": False,
    "small": -3,
    "min": -(1 << 63),
    "max": (1 << 63) - 1,
    "big": 1 << 63,  # past int64: kept aside as an object
    "half": 0.5,
    "negzero": -0.0,
    "inf": math.inf,
    "text": "vda",
    "list": [1, 2],
}


def bits(value):
    return struct.pack("<d", value)


def test_values_read_back_exactly():
    table = SampleTable(history=3)
    row = table.add_row("vm")
    table.append(row, VALUES)
    nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0001))[0]  # a NaN with a payload
    table.append(row, {"half": nan})
    newest = table.view(row).statistics[-1]
    assert list(newest) == ["half"]  # the other fields are absent from that sample
    assert bits(newest["half"]) == bits(nan)
    first = table.view(row).statistics[0]
    assert same(first, VALUES) and first["list"] is VALUES["list"]
    assert table.history_of(row, "half")[0] == 0.5 and bits(table.history_of(row, "half")[1]) == bits(nan)
    assert table.history_of(row, "small") == [-3, None]  # absent reads as None, as row.get
    for name, value in VALUES.items():
        table.set_control(row, name, value)
        assert same(table.get_control(row, name), value)
    assert same(table.controls_of(row), VALUES)
    table.append(row, VALUES)
    assert same(table.view(row)._policy_values, VALUES)


def test_the_ring_keeps_the_last_samples_oldest_first():
    table = SampleTable(["x"], history=3)
    row = table.add_row("vm")
    for x in range(5):
        table.append(row, {"x": x, "o": [x]})
    assert table.history_of(row, "x") == [2, 3, 4]
    assert [sample["o"] for sample in table.view(row).statistics] == [[2], [3], [4]]
    assert table.view(row).StatAvg("x") == 3.0
    # the objects of the samples that fell out of the ring were freed
    assert sum(value is not None for value in table.objects) == 3


def test_a_reused_row_starts_empty():
    table = SampleTable(["x"], history=4)
    first = table.add_row("old")
    for x in range(3):
        table.append(first, {"x": x, "o": "gone"})
    table.set_control(first, "balloon_target", 1)
    table.remove_row(first)
    assert all(value is None for value in table.objects)
    row = table.add_row("new")
    assert row == first
    view = table.view(row)
    assert len(view.statistics) == 0 and view._policy_values == {} and view.Stat("x") is None
    assert view.controls == {}
    table.append(row, {"x": 7})
    assert table.history_of(row, "x") == [7]
    assert [entity.x for entity in GuestSet(table, [row])] == [7]
