"""A value that may be missing (upstream ``mom.optional.Optional``)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

__all__ = ["Optional"]

_MISSING = object()


class Optional:
    """Either a present value or missing; missing propagates through ``map`` and ``[]``."""

    __slots__ = ("_value",)

    def __init__(self, value: Any = _MISSING) -> None:
        self._value = value

    @classmethod
    def missing(cls) -> Optional:
        return cls()

    @property
    def present(self) -> bool:
        return self._value is not _MISSING

    @property
    def value(self) -> Any:
        if self._value is _MISSING:
            raise ValueError("Optional value is missing")
        return self._value

    def orNone(self) -> Any:
        return self.orElse(None)

    def orElse(self, default: Any) -> Any:
        return self._value if self.present else default

    def orRaise(self, exc_cls: type[BaseException], *args: Any) -> Any:
        if not self.present:
            raise exc_cls(*args)
        return self._value

    def map(self, function: Callable[[Any], Any]) -> Optional:
        return Optional(function(self._value)) if self.present else self

    def get(self, key: Any, default: Any = None) -> Optional:
        """``Optional(value.get(key, default))``; a missing Optional stays missing (as upstream)."""
        return Optional(self._value.get(key, default)) if self.present else self

    def __getitem__(self, key: Any) -> Optional:
        if not self.present:
            return self
        try:
            return Optional(self._value[key])
        except (KeyError, IndexError, TypeError):
            return Optional.missing()

    def __iter__(self) -> Iterator[Any]:
        if self.present:
            return iter(self._value)
        return iter(())

    def __repr__(self) -> str:
        return f"Optional({self._value!r})" if self.present else "Optional.missing()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Optional) and self._value == other._value

    def __hash__(self) -> int:
        return hash(self._value) if self.present else 0
