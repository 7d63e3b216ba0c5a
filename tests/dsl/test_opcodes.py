"""The Cython VM's opcode enum matches the Python table it is compiled from."""

from __future__ import annotations

import re
from pathlib import Path

from mom.dsl.opcodes import OPERANDS, STACK_EFFECT, Op

PXD = Path(__file__).resolve().parents[2] / "mom" / "_fastpath" / "opcodes.pxd"


def test_pxd_enum_matches_python_opcodes():
    declared = dict(re.findall(r"^\s+OP_(\w+) = (\d+)\s*$", PXD.read_text(), flags=re.M))
    assert {name: int(value) for name, value in declared.items()} == {op.name: op.value for op in Op}


def test_every_opcode_has_operands_and_stack_effect():
    assert set(OPERANDS) == set(Op) == set(STACK_EFFECT)
