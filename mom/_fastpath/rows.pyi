"""Type stubs of the VM's data access (mom/_fastpath/rows.pyx): C-level only."""

from mom._fastpath.code import Code

class Rows:
    def __init__(self, code: Code) -> None: ...
