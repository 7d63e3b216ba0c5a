"""The project's exception classes: one root, upstream names kept.

``str(error)`` of a policy error reproduces upstream MOM's text verbatim (upstream
tests pin it); everything extra (column, offending form) lives on attributes.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MomError",
    "describe_error",
    "PolicyError",
    "EntityError",
    "CollectionError",
    "FatalError",
    "HypervisorInterfaceError",
    "HypervisorConnectionError",
    "PluginNotFoundError",
    "ConfigError",
    "FastPathUnavailable",
]


class MomError(Exception):
    """Root of every error this package raises on purpose."""


class PolicyError(MomError):
    """A policy failed to parse, compile or evaluate.

    :ivar line: upstream-compatible line number (comment newlines not counted), or None
    :ivar position: ``(line, column)`` in the source as an editor counts them, or None
    :ivar form: the offending expression rendered back to source, or None
    :ivar detail: what exactly is wrong, where the upstream text says little, or None
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        position: tuple[int, int] | None = None,
        form: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.position = position
        self.form = form
        self.detail = detail

    def describe(self) -> str:
        """The upstream message followed by everything known about where it happened."""
        return describe_error(self)


def describe_error(error: BaseException) -> str:
    """``str(error)`` plus the position, detail and form the policy engine attached.

    Works for any exception: evaluation annotates Python errors (TypeError,
    ZeroDivisionError, ...) with the same attributes a PolicyError carries.
    """
    text = str(error) if isinstance(error, PolicyError) else f"{type(error).__name__}: {error}"
    extras = []
    position = getattr(error, "position", None)
    if position is not None:
        extras.append("line %d, column %d" % position)
    detail = getattr(error, "detail", None)
    if detail:
        extras.append(detail)
    form = getattr(error, "form", None)
    if form:
        extras.append(f"in {form}")
    return f"{text} ({'; '.join(extras)})" if extras else text


class EntityError(MomError):
    """A statistic a policy asked for is not available (upstream ``EntityError``)."""


class CollectionError(MomError):
    """A collector could not collect this time; the monitor keeps going."""

    def __init__(self, msg: Any) -> None:
        super().__init__(msg)
        self.msg = msg


class FatalError(MomError):
    """A collector can never work for this monitor; the monitor stops."""

    def __init__(self, msg: Any) -> None:
        super().__init__(msg)
        self.msg = msg


class HypervisorInterfaceError(MomError):
    """A hypervisor call failed (upstream ``HypervisorInterfaceError``)."""


class HypervisorConnectionError(MomError):
    """The hypervisor cannot be reached (upstream's ``ConnectionError``)."""


class PluginNotFoundError(MomError, ImportError):
    """No collector, controller or hypervisor interface has that name."""


class ConfigError(MomError, ValueError):
    """A configuration value is invalid."""


class FastPathUnavailable(MomError, ImportError):
    """``MOM_REQUIRE_FASTPATH=1`` but the compiled extension cannot be imported."""
