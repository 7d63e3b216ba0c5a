"""The tables two sides must agree on (mom/dsl/layout.py): the C enums of the fast path,
the column store's cells, the entities' rule methods and the IO-tune setters."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mom.dsl import layout
from mom.dsl.opcodes import Keep, Op
from mom.plugins.collectors.io_tune import IoTune
from mom.runtime.entity import Entity
from mom.runtime.table import GuestSet, RowEntity, SampleTable
from tests.implementations import load_implementation

FASTPATH = Path(__file__).resolve().parents[2] / "mom" / "_fastpath"


def pxd_enum(path: Path, name: str, prefix: str) -> dict[str, int]:
    text = path.read_text()
    body = text[text.index(f"cdef enum {name}:") :].split("\n\n", 1)[0]
    return {key: int(value) for key, value in re.findall(rf"^\s+{prefix}(\w+) = (\d+)\s*$", body, flags=re.M)}


def test_layout_pxd_declares_the_python_tables():
    pxd = FASTPATH / "layout.pxd"
    assert pxd_enum(pxd, "StorageTag", "S_") == layout.STORAGE_TAGS
    assert pxd_enum(pxd, "RuleMethod", "M_") == {name.upper(): k for k, name in enumerate(layout.RULE_METHOD_NAMES)}
    assert pxd_enum(pxd, "Kind", "K_") == {"NONE": 0, **layout.KINDS}


@pytest.mark.fastpath
def test_the_compiled_enums_are_the_python_tables(request):  # type: ignore[no-untyped-def]
    """What the extension was built with, not only what its sources say."""
    load_implementation("cython", request.config)
    from mom._fastpath import vm

    assert vm.C_TABLES["storage_tags"] == layout.STORAGE_TAGS
    assert vm.C_TABLES["rule_methods"] == {name: k for k, name in enumerate(layout.RULE_METHOD_NAMES)}
    assert vm.C_TABLES["kinds"] == layout.KINDS
    assert vm.C_TABLES["opcodes"] == {op.name: op.value for op in Op}
    assert vm.C_TABLES["keep"] == {keep.name: keep.value for keep in Keep}


def test_the_column_store_encodes_cells_with_the_layouts_tags():
    table = SampleTable(["a", "b", "c", "d", "e", "f"], history=2, capacity=1)
    row = table.add_row("g")
    table.append(row, {"a": None, "b": True, "c": 7, "d": 1.5, "e": "text"})
    tags = table.latest_tags[:, row].tolist()
    payload = table.latest_payload[:, row].tolist()
    assert tags == [layout.TAG_NONE, layout.TAG_BOOL, layout.TAG_INT, layout.TAG_FLOAT, layout.TAG_OBJECT, layout.TAG_ABSENT]
    assert payload[:4] == [0, 1, 7, int(np.float64(1.5).view(np.int64))]
    assert table.objects[payload[4]] == "text"


def test_the_column_view_holds_the_stores_current_arrays():
    table = SampleTable(["x"], history=3, capacity=2)
    table.add_row("g")
    view = table.column_view()
    assert set(layout.ColumnView._fields) == set(view._asdict())
    assert view.tags is table.tags and view.control_tags is table.control_tags
    assert view.field_index is table.policy_field_index and view.objects is table.objects
    column = view.add_control("new")
    assert table.control_index["new"] == column


def test_every_rule_method_is_an_entity_method():
    assert layout.RULE_METHODS == Entity._policy_methods
    for name in layout.RULE_METHOD_NAMES:
        assert callable(getattr(Entity, name)) and getattr(RowEntity, name)


def test_every_io_tune_setter_writes_its_limit():
    assert IoTune._policy_methods == layout.IO_TUNE_METHODS
    for name, key in layout.IO_TUNE_SETTERS:
        record = IoTune("vda", "/p", {}, {}, {})
        getattr(record, name)("12")
        assert record.ioTune()["ioTune"] == {key: 12}
        getattr(record, name)(None)
        assert record.ioTune()["ioTune"] == {key: None}


def test_kinds_are_declared_by_the_classes_themselves():
    kinds = {cls: cls.__dict__.get(layout.POLICY_KIND) for cls in (RowEntity, GuestSet, Entity, IoTune)}
    assert kinds == {
        RowEntity: layout.KIND_ROW, GuestSet: layout.KIND_ROWS, Entity: layout.KIND_ENTITY, IoTune: layout.KIND_IO_TUNE,
    }  # fmt: skip
    for kind, names in layout.KIND_ATTRIBUTES.items():
        (cls,) = [cls for cls, declared in kinds.items() if declared == kind]
        instance = cls("d", "/p", {}, {}, {}) if cls is IoTune else cls()
        for name in names:
            getattr(instance, name)  # the attributes the kind promises exist
