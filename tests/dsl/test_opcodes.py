"""The bytecode's tables: the Cython VM's opcode enum matches the Python one it mirrors,
and the disassembler reads every instruction (the data layout's tables: test_layout.py)."""

from __future__ import annotations

import re
from pathlib import Path

from mom.dsl.bytecode import compile_bytecode, disassemble
from mom.dsl.opcodes import OPERANDS, STACK_EFFECT, Keep, Op
from mom.dsl.reader import read
from mom.dsl.syntax import expressions

PXD = Path(__file__).resolve().parents[2] / "mom" / "_fastpath" / "opcodes.pxd"


def test_pxd_enum_matches_python_opcodes():
    declared = dict(re.findall(r"^\s+OP_(\w+) = (\d+)\s*$", PXD.read_text(), flags=re.M))
    assert {name: int(value) for name, value in declared.items()} == {op.name: op.value for op in Op}
    keeps = dict(re.findall(r"^\s+KEEP_(\w+) = (\d+)\s*$", PXD.read_text(), flags=re.M))
    assert {name: int(value) for name, value in keeps.items()} == {keep.name: keep.value for keep in Keep}


def test_every_opcode_has_operands_and_stack_effect():
    assert set(OPERANDS) == set(Op) == set(STACK_EFFECT)


def test_disassembly_lists_every_block_and_instruction_with_names():
    result = read("(defvar x 1.5) (def f (a) (+ a x)) (f x) (with Guests g g.cur)")
    bytecode = compile_bytecode(expressions(result.forms), result.source)
    listing = disassemble(bytecode).splitlines()
    assert [line for line in listing if line.startswith("block ")] == [f"block {n}:" for n in range(len(bytecode.blocks))]
    starts, pc = [], 0
    while pc < len(bytecode.code):
        starts.append(pc)
        pc += 1 + OPERANDS[Op(bytecode.code[pc])]
    assert [int(line.split()[0]) for line in listing if not line.startswith("block ")] == starts
    for expected in ("CONST          0            1.5", "DEFVAR         0            x", "g.cur", "f thunks="):
        assert any(expected in line for line in listing), expected
