"""Walks of a batched round's columns (a value per guest): identity scans, attribute
reads and writes over every guest's object, each one pass.

These are the references: the rounds use the compiled twins of
mom/_fastpath/walks.pyx when the fast path is built (a ``map()`` pass over a thousand
objects costs a C call per item, the twin's loop a pointer compare or one attribute
read); tests/runtime/test_walks.py holds the two to the same answers.
"""

from __future__ import annotations

from itertools import chain, compress, count, repeat
from operator import attrgetter, contains, eq, is_
from typing import Any, Sequence

from mom._impl import IMPLEMENTATION

__all__ = [
    "holds",
    "holds_instance",
    "attrs_are",
    "all_attr_is",
    "attr_holds",
    "cached_values",
    "values_of",
    "count_containing",
    "layouts_are",
    "AnswerColumns",
    "items_are",
    "first_true_attr",
    "first_true_item",
]


def holds(values: list[Any], value: Any) -> bool:
    """Whether ``value`` itself (by identity: no ``==`` called) is one of ``values``."""
    return any(map(is_, values, repeat(value)))


def holds_instance(values: list[Any], kind: type) -> bool:
    """Whether one of ``values`` is an instance of ``kind``."""
    return any(map(isinstance, values, repeat(kind)))


def attrs_are(objects: Sequence[Any], name: str, values: list[Any]) -> bool:
    """Whether each object's attribute ``name`` is (by identity) the value at its
    position in ``values`` (as many as the objects; False if not)."""
    return len(objects) == len(values) and all(map(is_, map(attrgetter(name), objects), values))


def items_are(objects: list[Any], known: list[Any]) -> bool:
    """Whether ``objects`` are ``known``'s items themselves, as many and in the same
    order (by identity: no ``==`` called)."""
    return len(objects) == len(known) and all(map(is_, objects, known))


def first_true_attr(objects: Sequence[Any], name: str) -> int:
    """The position of the first object whose attribute ``name`` is true (an empty
    dict is not); -1 if none is."""
    return next(compress(count(), map(attrgetter(name), objects)), -1)


def first_true_item(values: list[Any], indexes: Sequence[Any]) -> int:
    """The position in ``indexes`` of the first index whose item of ``values`` is
    true (``values[index]``, as a list indexes: a negative index counts from the end);
    -1 if none is."""
    return next(compress(count(), map(values.__getitem__, indexes)), -1)


def all_attr_is(objects: Sequence[Any], name: str, value: Any) -> bool:
    """Whether every object's attribute ``name`` is ``value`` itself."""
    return all(map(is_, map(attrgetter(name), objects), repeat(value)))


def attr_holds(objects: Sequence[Any], name: str, value: Any) -> bool:
    """Whether some object's attribute ``name`` is ``value`` itself."""
    return any(map(is_, map(attrgetter(name), objects), repeat(value)))


def values_of(mapping: dict[Any, Any], keys: Sequence[Any]) -> list[Any] | None:
    """The values of ``keys`` in ``mapping``, in order; None if a key is not there or
    is there with None."""
    values = list(map(mapping.get, keys))
    return None if holds(values, None) else values


def count_containing(containers: Any, item: Any) -> int:
    """How many of ``containers`` have ``item`` (``in``)."""
    return sum(map(contains, containers, repeat(item)))


def cached_values(objects: list[Any], name: str, epoch_name: str, epoch: Any) -> list[Any] | None:
    """Each object's attribute ``name``, if none is None and each one's ``epoch_name``
    equals ``epoch`` (what it was read for is now: cache entries); else None."""
    values = list(map(attrgetter(name), objects))
    if holds(values, None) or not all(map(eq, map(attrgetter(epoch_name), objects), repeat(epoch))):
        return None
    return values


def layout_of(objects: Sequence[Any], names: tuple[str, ...]) -> list[Any]:
    """Each object followed by its attributes ``names``, in one flat list."""
    return list(chain.from_iterable([item, *[getattr(item, name) for name in names]] for item in objects))


def layouts_are(objects: Sequence[Any], names: tuple[str, ...], layouts: list[Any]) -> bool:
    """Whether ``layouts`` (a :func:`layout_of`) is what ``objects`` and their attributes
    ``names`` are now, item by item as lists compare (``is``, else ``==``)."""
    return layouts == layout_of(objects, names)


_ABSENT_KEY = object()


class AnswerColumns:
    """Answers (one per guest, in order) taken into columns as they come: each answer
    that is a dict with every one of ``keys`` has their values appended to
    :attr:`columns` (a tuple of one list per key, in ``keys``' order) and ``mark`` to
    :attr:`notes`; any other answer is appended to :attr:`notes` itself, and None to
    each column.  A caller may append a note of its own (a failed call): the next
    :meth:`take` or :meth:`finish` gives it None in each column.  No answer is held, so
    each can be freed before the next call is made (a thousand dicts fresh from libvirt
    kept for a round cost more than their values copied out)."""

    __slots__ = ("keys", "columns", "notes", "mark")

    def __init__(self, keys: Sequence[Any], mark: Any) -> None:
        self.keys = tuple(keys)
        self.columns: tuple[list[Any], ...] = tuple([] for _ in self.keys)
        self.notes: list[Any] = []
        self.mark = mark

    def take(self, answer: Any) -> None:
        """One more answer (see the class)."""
        self.finish()
        found = 0
        if type(answer) is dict:
            for key, column in zip(self.keys, self.columns):
                value = answer.get(key, _ABSENT_KEY)
                if value is _ABSENT_KEY:
                    break
                column.append(value)
                found += 1
        if type(answer) is dict and found == len(self.keys):
            self.notes.append(self.mark)
            return
        for index, column in enumerate(self.columns):
            if index < found:
                del column[-1:]  # the values appended for this answer taken back
            column.append(None)
        self.notes.append(answer)

    def finish(self) -> None:
        """Each column as long as the notes (None in the places of the caller's own)."""
        position = len(self.notes)
        for column in self.columns:
            column.extend([None] * (position - len(column)))


#: the references, and the ones the rounds use (the fast path's twins if built)
reference_holds, reference_holds_instance = holds, holds_instance
reference_attrs_are, reference_all_attr_is = attrs_are, all_attr_is
reference_cached_values = cached_values
reference_attr_holds, reference_values_of, reference_count_containing = attr_holds, values_of, count_containing
reference_layouts_are = layouts_are
reference_AnswerColumns = AnswerColumns
reference_items_are, reference_first_true_attr, reference_first_true_item = items_are, first_true_attr, first_true_item
if IMPLEMENTATION == "cython":
    from mom._fastpath.walks import (  # type: ignore[assignment]  # noqa: E402
        AnswerColumns,
        all_attr_is,
        attr_holds,
        attrs_are,
        cached_values,
        count_containing,
        first_true_attr,
        first_true_item,
        holds,
        holds_instance,
        items_are,
        layouts_are,
        values_of,
    )
