"""Type stubs of the compiled VM (mom/_fastpath/vm.pyx)."""

from typing import Any

from mom.dsl.bytecode import Bytecode
from mom.dsl.limits import Limits

class Code:
    top: list[int]
    nodes: list[Any]
    max_stack: int
    def __init__(self, bytecode: Bytecode) -> None: ...
    def node_of(self, pc: int) -> Any: ...

class Machine:
    error_pc: int
    def __init__(self, code: Code, limits: Limits) -> None: ...
    def execute(self, bindings: dict[str, Any]) -> list[Any] | None: ...
