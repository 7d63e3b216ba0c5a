"""What every command-line tool of the package does the same way."""

from __future__ import annotations

import signal


def quiet_on_closed_pipe() -> None:
    """Die quietly, as other Unix tools do, when the reader of stdout goes away
    (``momctl stats | head``) instead of printing a BrokenPipeError traceback."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
