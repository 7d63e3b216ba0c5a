"""``mom-policy repl``: an interactive read-eval-print loop on one persistent evaluator.

Input is collected until its brackets balance (and no string is left open), then
evaluated with upstream's ``Parser.eval`` semantics; every top-level value is
printed.  Definitions persist from one input to the next.  Lines starting with ``:``
are commands (``:help``).  Works the same on a terminal and on piped input.
"""

from __future__ import annotations

import json
from typing import Any, Callable, TextIO

from mom.dsl.evaluator import Evaluator
from mom.dsl.program import evaluate_text
from mom.dsl.reader import tokenize
from mom.errors import describe_error
from mom.runtime.entity import Entity

__all__ = ["Repl", "needs_more", "format_value", "stream_reader", "terminal_reader"]

HELP = """\
Enter policy expressions; input continues until the brackets balance.
  :vars       the variables bound now
  :funcs      the functions defined so far
  :controls   the controls the policy set on Host and Guests
  :help       this text
  :quit       leave (end of input does too)"""


def needs_more(text: str) -> bool:
    """Whether ``text`` is an unfinished expression: an open bracket or string."""
    tokens, discarded_at = tokenize(text)
    if discarded_at is not None and text[discarded_at] in "'\"":
        return True  # an unterminated string: the scanner cannot match it yet
    depth = 0
    for token in tokens:
        if token.kind in ("(", "[", "{"):
            depth += 1
        elif token.kind in (")", "]", "}"):
            depth -= 1
    return depth > 0


def format_value(value: Any) -> str:
    """A result as the policy language would write it (nil for None)."""
    if value is None:
        return "nil"
    if isinstance(value, Entity):
        return f"<Entity {value.properties.get('name', '?')}>"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def stream_reader(stream: TextIO) -> Callable[[bool], str | None]:
    """Lines from a pipe or file, without prompts."""

    def read_line(continuing: bool) -> str | None:
        line = stream.readline()
        return line or None

    return read_line


def terminal_reader(write: Callable[[str], None]) -> Callable[[bool], str | None]:
    """Lines from a terminal through input(), with a prompt showing continuation."""

    def read_line(continuing: bool) -> str | None:
        while True:
            try:
                return input("...   " if continuing else "mom> ")
            except EOFError:
                write("")
                return None
            except KeyboardInterrupt:
                write("")  # drop the line, keep the session

    return read_line


class Repl:
    """The loop; ``write`` receives output lines."""

    def __init__(self, evaluator: Evaluator, write: Callable[[str], None]) -> None:
        self.evaluator = evaluator
        self.write = write
        self.failures = 0
        self.done = False

    def run(self, read_line: Callable[[bool], str | None]) -> int:
        """Read and evaluate until end of input; 0 if every input evaluated, else 1.

        ``read_line(continuing)`` returns the next line, or None at the end of input;
        ``continuing`` says whether an unfinished expression is waiting for more.
        """
        buffer: list[str] = []
        while not self.done:
            line = read_line(bool(buffer))
            if line is None:
                break
            if not buffer and line.strip().startswith(":"):
                self.command(line.strip())
                continue
            buffer.append(line if line.endswith("\n") else line + "\n")
            text = "".join(buffer)
            if needs_more(text):
                continue
            buffer = []
            self.evaluate(text)
        if buffer:
            self.evaluate("".join(buffer))  # an unfinished last input: show its error
        return 1 if self.failures else 0

    def evaluate(self, text: str) -> None:
        if not text.strip():
            return
        try:
            values = evaluate_text(self.evaluator, text)
        except Exception as error:  # noqa: BLE001  (every policy failure is shown, the loop goes on)
            self.failures += 1
            self.write(f"error: {describe_error(error)}")
            # upstream leaves the scopes of a failed let/with/call on the stack; at
            # a prompt that would leave stray variables bound, so go back to the root
            while self.evaluator.depth > 1:
                self.evaluator.leave_scope()
            return
        for value in values:
            self.write(format_value(value))

    def command(self, line: str) -> None:
        name = line.split()[0]
        ev = self.evaluator
        if name in (":quit", ":q", ":exit"):
            self.done = True
        elif name == ":help":
            self.write(HELP)
        elif name == ":vars":
            for key, value in sorted(ev.snapshot().items()):
                self.write(f"{key} = {format_value(value)}")
        elif name == ":funcs":
            for key, function in sorted(ev.funcs.items()):
                params = " ".join(p[0] for p in function.binders if not callable(p))
                self.write(f"({key} ({params}))")
        elif name == ":controls":
            entities = []
            host = ev.current.get("Host")
            if isinstance(host, Entity):
                entities.append(("Host", host))
            for guest in ev.current.get("Guests") or ():
                if isinstance(guest, Entity):
                    entities.append((guest.properties.get("name", "?"), guest))
            for label, entity in entities:
                self.write(f"{label}: {json.dumps(entity.controls, default=repr)}")
        else:
            self.failures += 1
            self.write(f"error: unknown command {name} (try :help)")
