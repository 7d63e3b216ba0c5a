"""Named policies, concatenated and compiled as one program (upstream's ``Policy``).

Upstream semantics kept: policies are joined in sorted-name order with newlines, the
empty result reads as ``'0'``, ``None`` names ``50_main_``, a text that fails to
parse is rolled back while the previous program stays active, and a runtime error
aborts the evaluation (the engine then skips the controllers).  Besides upstream's
bool results and log lines, :attr:`PolicyStore.last_error` keeps the exception of a
failed call, for callers that report it themselves (``mom-policy eval``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterable

from mom import _impl
from mom.dsl.limits import DEFAULT_LIMITS, Limits
from mom.errors import PolicyError, describe_error

__all__ = ["PolicyStore", "DEFAULT_POLICY_NAME"]

DEFAULT_POLICY_NAME = "50_main_"


class PolicyStore:
    """The set of named policies the policy engine evaluates."""

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, implementation: Any = None, logger: logging.Logger | None = None
    ) -> None:
        self.logger = logger if logger is not None else logging.getLogger("mom.Policy")
        self.policy_sem = threading.Semaphore()
        self.policy_strings: dict[str, str] = {}
        self.limits = limits
        #: the policy implementation that compiles and runs policies: a program module,
        #: mom.dsl.program or mom._fastpath.program (mom._impl chooses by default)
        self.implementation = implementation if implementation is not None else _impl.program
        # no program yet: no top-level values (upstream starts with ``code = []``; only a
        # set_policy compiles the joined texts, '0' when there are none)
        self.code: Any = self.implementation.compile_policy("", limits)
        #: the exception that made the last set_policy or evaluate return False (its
        #: traceback dropped); None after one that succeeded
        self.last_error: BaseException | None = None

    # ## Texts

    def get_string(self) -> str:
        """All policies joined in sorted-name order, or ``'0'`` when there are none."""
        text = "\n".join(self.policy_strings[name] for name in sorted(self.policy_strings))
        return text or "0"

    def get_strings(self, name: str | None = None) -> Any:
        """A copy of the name -> text dict, or the text of one policy."""
        if name is None:
            return dict(self.policy_strings)
        return self.policy_strings[name]

    def clear_policy(self) -> None:
        with self.policy_sem:
            self.policy_strings = {}
            self.code = self.implementation.compile_policy("", self.limits)  # upstream empties it

    def set_policy(self, name: str | None, policy_str: str | None) -> bool:
        """Store (or with ``None`` delete) one named policy and recompile them all.

        Returns False, and keeps the previous texts and program, if the result does
        not parse.
        """
        if name is None:
            name = DEFAULT_POLICY_NAME
        with self.policy_sem:
            previous = self.policy_strings.get(name)
            if policy_str is None:
                self.policy_strings.pop(name, None)
                self.logger.info("Deleted policy '%s'", name)
            else:
                self.policy_strings[name] = policy_str
            try:
                program = self.implementation.compile_policy(self.get_string(), self.limits)
            except PolicyError as error:
                self.logger.error("Unable to load policy: %s", describe_error(error))
                self.last_error = error.with_traceback(None)
                if previous is None:
                    self.policy_strings.pop(name, None)
                else:
                    self.policy_strings[name] = previous
                return False
            self.code = program
            self.last_error = None
            if program.discarded_at is not None:
                line, column = program.source.position(program.discarded_at)
                self.logger.warning(
                    "Policy text from line %d, column %d on is ignored: %r is not part of "
                    "the language (upstream MOM ignores it silently)",
                    line,
                    column,
                    program.source.text[program.discarded_at : program.discarded_at + 10],
                )
            if policy_str:
                self.logger.info("Loaded policy '%s'", name)
            return True

    # ## Evaluation

    def evaluate(self, host: Any, guest_list: Iterable[Any]) -> bool:
        """Run the policy once; False if it raised (controls set before stay set)."""
        with self.policy_sem:
            debugging = self.logger.isEnabledFor(logging.DEBUG)
            try:
                # the values of the top-level forms only serve the debug log
                results = self.code.evaluate(host, guest_list, debugging)
            except PolicyError as error:
                self.logger.error("Policy error: %s", describe_error(error))
                # (without the traceback, whose frames hold this cycle's entities)
                self.last_error = error.with_traceback(None)
                return False
            except Exception as error:
                self.logger.error("Unexpected error when evaluating policy: %s", describe_error(error))
                self.last_error = error.with_traceback(None)
                return False
            self.last_error = None
            if debugging:
                self.logger.debug("Results: %s", results)
            return True
