"""Type stubs of the compiled VM (mom/_fastpath/vm.pyx)."""

from typing import Any

from mom._fastpath.code import Code
from mom.dsl.limits import Limits

#: the C enums as compiled (storage tags, rule methods, kinds, opcodes), for the tests
C_TABLES: dict[str, dict[str, int]]

class Machine:
    error_pc: int
    #: the checked variant's values that may hold a big int, after execute (else None)
    suspects: list[Any] | None
    def __init__(self, code: Code, limits: Limits) -> None: ...
    def execute(self, bindings: dict[str, Any]) -> list[Any] | None: ...

def holds_big_int(results: Any, bits: int) -> bool: ...
