"""Logging as upstream MOM sets it up (upstream ``mom.LogUtils``).

Logger ``mom``, not propagating, with one handler per MOM instance: a stream handler
for ``log=stdio``, otherwise a rotating file.  Verbosity is a number or a word
(``5``/``debug`` ... ``1``/``critical``); anything else means debug, as upstream.
"""

from __future__ import annotations

import logging
import logging.handlers
from typing import Any

__all__ = ["LOG_FORMAT", "VERBOSITY_LEVELS", "verbosity_level", "log_set_verbosity", "make_handler", "configure", "remove_handler"]

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

#: upstream verbosity values (lower case) -> logging level; anything else means debug
VERBOSITY_LEVELS = {
    "5": logging.DEBUG,
    "debug": logging.DEBUG,
    "4": logging.INFO,
    "info": logging.INFO,
    "3": logging.WARNING,
    "warn": logging.WARNING,
    "2": logging.ERROR,
    "error": logging.ERROR,
    "1": logging.CRITICAL,
    "critical": logging.CRITICAL,
}


def verbosity_level(verbosity: Any) -> int:
    """The logging level for an upstream verbosity value (unknown -> DEBUG)."""
    return VERBOSITY_LEVELS.get(str(verbosity).strip().lower(), logging.DEBUG)


def log_set_verbosity(logger: logging.Logger, verbosity: Any) -> None:
    """Set ``logger``'s level from an upstream verbosity value."""
    logger.setLevel(verbosity_level(verbosity))


def make_handler(target: str, max_bytes: int, backup_count: int) -> logging.Handler:
    """``stdio`` -> stream handler (stderr); anything else -> rotating file handler."""
    handler: logging.Handler
    if target.strip() == "stdio":
        handler = logging.StreamHandler()
    else:
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=max_bytes, backupCount=backup_count)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def configure(target: str, verbosity: Any, max_bytes: int, backup_count: int) -> logging.Handler:
    """Set up logger ``mom`` and add (and return) this instance's handler."""
    logger = logging.getLogger("mom")
    logger.propagate = False
    log_set_verbosity(logger, verbosity)
    handler = make_handler(target, max_bytes, backup_count)
    logger.addHandler(handler)
    return handler


def remove_handler(handler: logging.Handler | None) -> None:
    """Detach and close a handler :func:`configure` added."""
    if handler is None:
        return
    logging.getLogger("mom").removeHandler(handler)
    handler.close()
