"""Type stubs of the VM's code loader (mom/_fastpath/code.pyx)."""

from typing import Any

from mom.dsl.bytecode import Bytecode

class Code:
    top: list[int]
    nodes: list[Any]
    max_stack: int
    def __init__(self, bytecode: Bytecode) -> None: ...
    def node_of(self, pc: int) -> Any: ...
