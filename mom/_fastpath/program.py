"""The fast path's programs: the twin of the reference's ``mom.dsl.program``, same interface.

``compile_policy`` reads the text once, compiles it to bytecode and loads it into the
Cython VM.  Programs the VM does not take (see :attr:`mom.dsl.bytecode.Bytecode.unsupported`:
a variable named like a builtin, a dotted function name) run on the reference, which is
the specification, so the result is the same either way; ``Program.delegated`` says why.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

# every extension of the build, so that mom._impl chooses the fast path only when all load
# (the daemon's sample store and IO-tune collector take their twins from columns then)
from mom._fastpath import allocator as fast_allocator
from mom._fastpath import columns as _columns  # noqa: F401
from mom._fastpath import sla_kernels as fast_sla_kernels
from mom._fastpath.code import Code
from mom._fastpath.vm import Machine, holds_big_int
from mom.dsl import program as reference
from mom.dsl import syntax
from mom.dsl.builtins import SHADOWABLE
from mom.dsl.builtins_sla import program_functions
from mom.dsl.bytecode import CHECKED, Bytecode, compile_bytecode
from mom.dsl.compiler import annotate
from mom.dsl.limits import DEFAULT_LIMITS, Limits
from mom.dsl.reader import Node, Source, read
from mom.dsl.results import big_int_bits, unprintable

__all__ = ["Program", "compile_policy"]


class Program:
    """A policy compiled for the VM (or handed to the reference, see ``delegated``)."""

    def __init__(self, forms: list[Node], source: Source, discarded_at: int | None, limits: Limits) -> None:
        self.forms = forms
        self.source = source
        self.discarded_at = discarded_at
        self.limits = limits
        nodes = syntax.expressions(forms)  # (not kept: garbage once compiled)
        #: this program's own functions, over the Cython allocator and resource kernels
        #: (also when the reference runs the program: the state is the program's,
        #: whichever runs it)
        self.program_functions: dict[str, Any] = program_functions(
            fast_allocator.allocate, fast_sla_kernels.KERNELS, fast_sla_kernels.BALLOON_KERNELS
        )
        self._reference: reference.Program | None = None
        self._lock = threading.Lock()  # one evaluation at a time per machine
        # per variant (top-level values collected, not computed, or CHECKED): code and machine
        self._compiled: dict[Any, tuple[Code, Machine]] = {}
        # what the policy engine runs; compile errors surface now
        bytecode = compile_bytecode(nodes, source, CHECKED)
        #: why the reference runs this program instead of the VM, or None
        self.delegated = bytecode.unsupported
        if self.delegated is None:
            self._load(bytecode)
        else:
            self._reference = reference.Program(forms, source, discarded_at, limits, nodes)

    def _load(self, bytecode: Bytecode) -> tuple[Code, Machine]:
        code = Code(bytecode)
        variant = CHECKED if bytecode.checked else bytecode.values
        compiled = self._compiled[variant] = (code, Machine(code, self.limits))
        return compiled

    def _variant(self, values: Any) -> tuple[Code, Machine]:
        compiled = self._compiled.get(values)
        if compiled is None:
            compiled = self._load(compile_bytecode(syntax.expressions(self.forms), self.source, values))
        return compiled

    def reference_program(self) -> reference.Program:
        if self._reference is None:
            self._reference = reference.Program(self.forms, self.source, self.discarded_at, self.limits)
        return self._reference

    def execute(self, bindings: Mapping[str, Any] | None = None, results: bool = True) -> list[Any] | None:
        """Evaluate with fresh variables, ``bindings`` in the root scope.

        With ``results=False`` the values of the top-level forms are not collected
        (the policy engine only logs them, at debug level).
        """
        return self._run(bindings, results)

    def _run(self, bindings: Mapping[str, Any] | None, variant: Any) -> list[Any] | None:
        """Evaluate on ``variant``'s machine (or on the reference, which always has
        the values); what the machine returns, or for CHECKED its ``suspects``."""
        bindings = {**self.program_functions, **(bindings or {})}
        if self.delegated is not None or not SHADOWABLE.isdisjoint(bindings):
            return self.reference_program().execute(bindings)
        with self._lock:
            code, machine = self._variant(variant)
            try:
                values = machine.execute(bindings)
            except Exception as error:
                node = code.node_of(machine.error_pc)
                if node is not None:
                    annotate(error, node, self.source)
                raise
            return machine.suspects if variant is CHECKED else values  # type: ignore[no-any-return]

    def evaluate(self, host: Any, guests: Iterable[Any], results: bool = True) -> list[Any] | None:
        """One policy run with ``Host`` and ``Guests`` bound, as upstream's Policy does:
        a top-level value its results line cannot show fails (mom.dsl.results).

        Without ``results`` the checked variant runs: the values are computed but not
        collected, and only those the VM kept aside (a Python int or container, in the
        order of the values, which is the order the reference's check meets them) are
        checked.  A delegated program returns all its values: they are checked whole.
        """
        values = self._run({"Host": host, "Guests": guests}, True if results else CHECKED)
        bits = big_int_bits()
        if values and bits and holds_big_int(values, bits):
            error = unprintable(values)
            if error is not None:
                raise error
        return values if results else None


def compile_policy(text: str, limits: Limits = DEFAULT_LIMITS) -> Program:
    """Read and compile policy text; raises PolicyError on a parse error or a limit."""
    result = read(text, limits)
    return Program(result.forms, result.source, result.discarded_at, limits)
