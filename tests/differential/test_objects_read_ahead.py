"""Loops over guests whose rows hold objects (IO-tune records, lists, dicts, entities):
the fast path reads the objects of the next rows ahead of its loop's body (Rows.warm, a
hint to the memory system); results and side effects stay the reference's, whatever the
objects are, also when Python code the policy calls empties or replaces them meanwhile."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mom.offline import entity_from_spec
from mom.plugins.collectors.io_tune import DiskIoTune, IoTuneVals
from mom.runtime.table import GuestSet, SampleTable
from tests.dsl.same import same
from tests.implementations import load_implementation

LIMITS = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec")
POLICY = """
(def tune (guest) (with guest.io_tune disk {
    (defvar maximum disk.maximum)
    (disk.setTotalBytesSec maximum.total_bytes_sec)
    (disk.setWriteIopsSec maximum.write_iops_sec)
    (touch guest.blob)
}))
(with Guests guest (if (valid guest.io_tune) (tune guest) (touch guest.blob)))
(with Guests guest { (touch guest.blob) guest.x })
(with Guests guest (if (valid guest.io_tune) (with guest.io_tune disk (disk.ioTune)) 0))
"""


def _disk(rng: random.Random, name: str) -> DiskIoTune:
    maximum = {key: rng.choice([0, 400, 5_000_000, 2**40]) for key in LIMITS}
    current = {key: rng.choice([0, 400]) for key in LIMITS}
    return DiskIoTune(name, f"/images/{name}", {}, maximum, current)


def _blob(rng: random.Random, row: int) -> Any:
    shapes = [
        lambda: None,
        lambda: row,
        lambda: f"name-{row}",
        lambda: [],
        lambda: list(range(30)),  # more items than the read-ahead follows
        lambda: [[row], {"k": [row, 2.5]}, (row,)],
        lambda: {"a": {"b": {"c": row}}},
        lambda: IoTuneVals({"total_bytes_sec": row}),
        lambda: entity_from_spec({"name": f"e{row}", "stats": [{"x": row}]}),
    ]
    return rng.choice(shapes)()


def _table(seed: int, rows: int) -> GuestSet:
    rng = random.Random(seed)
    table = SampleTable(["io_tune", "blob", "x"], history=2, capacity=4)
    chosen = []
    for row in range(rows):
        index = table.add_row(f"g{row}")
        sample: dict[str, Any] = {"x": row, "blob": _blob(rng, row)}
        disks = rng.choice([0, 1, 1, 2, 20])
        sample["io_tune"] = None if rng.random() < 0.1 else [_disk(rng, f"vd{row}-{k}") for k in range(disks)]
        if rng.random() < 0.05:
            del sample["blob"]  # an absent cell
        table.append(index, sample)
        chosen.append(index)
    rng.shuffle(chosen)  # the loop's rows in any order
    return GuestSet(table, chosen)


def _run(engine: Any, seed: int, rows: int, emptying: bool) -> Any:
    guests = _table(seed, rows)
    seen: list[Any] = []

    def touch(value: Any) -> int:
        seen.append(type(value).__name__)
        if emptying:  # what the read-ahead looked at may go away between two rows
            view = guests.table.column_view()
            for cell in view.objects:
                if type(cell) is list and len(seen) % 3 == 0:
                    cell.clear()
        return len(seen)

    try:
        values = engine.compile_policy(POLICY).execute({"Guests": guests, "touch": touch})
    except Exception as error:  # noqa: BLE001  (the same error both ways)
        values = (type(error), str(error))
    disks = []
    view = guests.table.column_view()
    for cell in view.objects:
        if type(cell) is list:
            disks.extend(dict(disk._current) for disk in cell if type(disk) is DiskIoTune)
    return values, seen, disks


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


@pytest.mark.fastpath
@pytest.mark.parametrize("emptying", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_loops_over_rows_of_objects_agree_with_the_reference(engines: Any, seed: int, emptying: bool) -> None:
    reference, fast = engines
    rows = 3 + 17 * seed  # fewer rows than one read-ahead, and several of them
    expected = _run(reference, seed, rows, emptying)
    got = _run(fast, seed, rows, emptying)
    assert same(got[0], expected[0]) if not isinstance(expected[0], tuple) else got[0] == expected[0]
    assert got[1:] == expected[1:]
