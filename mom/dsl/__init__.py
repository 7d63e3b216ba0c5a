"""MOM's policy language, reference implementation (the executable specification).

reader (text to forms) -> compiler (forms to closures) -> program (evaluate with Host
and Guests bound); evaluator holds the runtime state, builtins the argument kinds and
value semantics, scope the dynamic variable stack, sandbox what ``obj.attr`` reaches,
store the named policies an engine evaluates.
"""

from mom.dsl.evaluator import Evaluator
from mom.dsl.limits import DEFAULT_LIMITS, Limits
from mom.dsl.program import Program, compile_policy, evaluate_text
from mom.errors import PolicyError

__all__ = ["Evaluator", "Limits", "DEFAULT_LIMITS", "Program", "PolicyError", "compile_policy", "evaluate_text"]
