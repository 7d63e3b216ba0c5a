"""Host and guest descriptions for ``mom-policy``: JSON files checked and turned into entities.

A host or guest is an object (the spec of :func:`mom.offline.entity_from_spec`)::

    {"name": "vm1",                          # guests: required and unique
     "properties": {"uuid": "..."},          # optional
     "stats": [{"mem_free": 1024, ...}, ...],  # samples, oldest first; one object is fine
     "io_tune": [{"name": "vda", "path": "...", "guaranteed": {...},
                  "maximum": {...}, "current": {...}}]}   # guests, optional

A guests file holds a list of guest objects, or ``{"guests": [...]}``.  Statistic
values are numbers or null.  Guests get the statistics vdsm's optional collectors
declare (memory, balloon, IO tune) even when the file leaves them out: they read as
nil, as they do in the daemon when a guest cannot report them.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from mom.errors import MomError
from mom.offline import VDSM_GUEST_OPTIONAL_FIELDS, entity_from_spec
from mom.policy_files import read_text
from mom.runtime.entity import Entity

__all__ = ["InputError", "load_json", "check_spec", "load_host", "load_guests"]

_SPEC_KEYS = ("name", "properties", "stats", "io_tune")
_TUNE_KEYS = ("name", "path", "guaranteed", "maximum", "current")


class InputError(MomError, ValueError):
    """An input file is missing, is not JSON, or does not have the expected shape."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def load_json(path: str) -> Any:
    """The JSON value in ``path``; InputError says what is wrong and where
    (UnreadableFileError if the file cannot be read)."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None


def _check_numbers(values: Any, where: str) -> None:
    if not isinstance(values, dict):
        raise InputError(f"{where}: expected an object, got {_kind(values)}")
    for key, value in values.items():
        if not _is_number(value):
            raise InputError(f"{where}.{key}: expected a number or null, got {_kind(value)}")


def check_spec(spec: Any, where: str, *, guest: bool) -> dict[str, Any]:
    """Check one host or guest object; ``where`` names it in messages (``guests[2]``)."""
    if not isinstance(spec, dict):
        raise InputError(f"{where}: expected an object with \"stats\", got {_kind(spec)}")
    allowed = _SPEC_KEYS if guest else _SPEC_KEYS[:3]
    for key in spec:
        if key not in allowed:
            raise InputError(f"{where}: unknown key {key!r} (expected {', '.join(allowed)})")
    if "name" in spec:
        if not isinstance(spec["name"], str) or not spec["name"]:
            raise InputError(f"{where}.name: expected a non-empty string, got {_kind(spec['name'])}")
    elif guest:
        raise InputError(f"{where}: \"name\" is missing")
    if "properties" in spec and not isinstance(spec["properties"], dict):
        raise InputError(f"{where}.properties: expected an object, got {_kind(spec['properties'])}")
    if "stats" not in spec:
        raise InputError(f"{where}: \"stats\" is missing")
    stats = spec["stats"]
    if isinstance(stats, dict):
        _check_numbers(stats, f"{where}.stats")
    elif isinstance(stats, list):
        if not stats:
            raise InputError(f"{where}.stats: no samples (give at least one)")
        for index, sample in enumerate(stats):
            _check_numbers(sample, f"{where}.stats[{index}]")
    else:
        raise InputError(f"{where}.stats: expected a list of samples or one sample object, got {_kind(stats)}")
    tunes = spec.get("io_tune")
    if tunes is not None:
        if not isinstance(tunes, list):
            raise InputError(f"{where}.io_tune: expected a list of disks or null, got {_kind(tunes)}")
        for index, tune in enumerate(tunes):
            place = f"{where}.io_tune[{index}]"
            if not isinstance(tune, dict):
                raise InputError(f"{place}: expected an object, got {_kind(tune)}")
            for key in tune:
                if key not in _TUNE_KEYS:
                    raise InputError(f"{place}: unknown key {key!r} (expected {', '.join(_TUNE_KEYS)})")
            for key in ("name", "path"):
                if tune.get(key) is not None and not isinstance(tune[key], str):
                    raise InputError(f"{place}.{key}: expected a string or null, got {_kind(tune[key])}")
            for key in ("guaranteed", "maximum", "current"):
                if key in tune:
                    _check_numbers(tune[key], f"{place}.{key}")
    return spec


def load_host(path: str) -> Entity:
    """The host entity described by the JSON object in ``path``."""
    spec = check_spec(load_json(path), f"{path}: host", guest=False)
    return entity_from_spec({"name": "host", **spec})


def _guest_specs(value: Any, path: str) -> list[Any]:
    if isinstance(value, dict) and "guests" in value:
        extra = [key for key in value if key != "guests"]
        if extra:
            raise InputError(f"{path}: unknown key {extra[0]!r} (expected only \"guests\")")
        value = value["guests"]
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a list of guests or {{\"guests\": [...]}}, got {_kind(value)}")
    return value


def load_guests(guests_file: str | None = None, guest_files: Iterable[str] = ()) -> list[Entity]:
    """Guest entities from one guests file and/or single-guest files, in order."""
    specs: list[tuple[dict[str, Any], str]] = []
    if guests_file is not None:
        for index, value in enumerate(_guest_specs(load_json(guests_file), guests_file)):
            where = f"{guests_file}: guests[{index}]"
            specs.append((check_spec(value, where, guest=True), where))
    for path in guest_files:
        specs.append((check_spec(load_json(path), f"{path}: guest", guest=True), path))
    seen: dict[str, str] = {}
    for spec, where in specs:
        name = spec["name"]
        if name in seen:
            raise InputError(f"{where}: guest name {name!r} is used twice (first in {seen[name]})")
        seen[name] = where
    return [entity_from_spec(spec, declared_optional=VDSM_GUEST_OPTIONAL_FIELDS) for spec, _ in specs]
