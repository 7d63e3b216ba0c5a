"""Where a guest's SLA comes from, and how the sources combine.

Sources, highest precedence first (:data:`SOURCES`): the RPC (``setGuestSla``), libvirt
metadata in our namespace ``urn:mom:sla:1``, oVirt's custom properties (read-only, in
vdsm's ``http://ovirt.org/vm/1.0`` metadata), the ``[sla] rules`` of ``mom.conf``, the
default class.  Each field (class, priority, tags, guarantee) comes from the highest
source that sets it (:func:`combine`).  Each source gives a :class:`SlaSpec`; a value
that cannot be used is an :class:`~mom.sla.classes.SlaError` saying why.
"""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from mom.sla.classes import Guarantee, SlaClass, SlaError, parse_guarantee

__all__ = [
    "MOM_NAMESPACE",
    "OVIRT_VM_NAMESPACE",
    "OVIRT_KEYS",
    "SOURCES",
    "DEFAULT_PRIORITY",
    "SlaSpec",
    "Sla",
    "Rule",
    "spec_from_values",
    "parse_mom_metadata",
    "parse_ovirt_custom",
    "parse_rules",
    "match_rules",
    "combine",
]

#: our own metadata namespace (we write nothing anywhere else)
MOM_NAMESPACE = "urn:mom:sla:1"
#: vdsm's per-VM metadata (read only: vdsm owns it)
OVIRT_VM_NAMESPACE = "http://ovirt.org/vm/1.0"
#: oVirt custom property -> SlaSpec field
OVIRT_KEYS = {"sla_class": "sla_class", "sla_priority": "priority", "sla_tags": "tags"}
#: highest precedence first
SOURCES = ("rpc", "metadata", "ovirt", "rule", "default")
DEFAULT_PRIORITY = 50

_TAG = re.compile(r"^[A-Za-z0-9_.:@+-]{1,64}$")
_MAX_TAGS = 32


@dataclass(frozen=True)
class SlaSpec:
    """What one source says about a guest; None: this source does not say."""

    sla_class: str | None = None
    priority: int | None = None
    tags: tuple[str, ...] | None = None
    guarantee: Guarantee | None = None

    def values(self) -> dict[str, Any]:
        """The fields set, in the RPC's (and the state file's) plain form."""
        out: dict[str, Any] = {}
        if self.sla_class is not None:
            out["class"] = self.sla_class
        if self.priority is not None:
            out["priority"] = self.priority
        if self.tags is not None:
            out["tags"] = list(self.tags)
        if self.guarantee is not None:
            out["guarantee"] = str(self.guarantee)
        return out


@dataclass(frozen=True)
class Sla:
    """A guest's effective SLA and which source gave each field."""

    sla_class: SlaClass
    priority: int
    tags: tuple[str, ...]
    guarantee: Guarantee | None
    sources: Mapping[str, str] = field(default_factory=dict)

    def has_tag(self, tag: str) -> bool:
        """The tag test policies get as ``sla_tag_<tag>`` fields."""
        return tag in self.tags


# ## Values


def _priority(value: object) -> int:
    if isinstance(value, bool):
        raise SlaError(f"priority {value!r}: expected an integer 0-100")
    try:
        number = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        number = None
    if not isinstance(number, int) or not 0 <= number <= 100:
        raise SlaError(f"priority {value!r}: expected an integer 0-100")
    return number


def _tags(value: object) -> tuple[str, ...]:
    """Tags from a space- or comma-separated string or a list; duplicates dropped, order kept."""
    if isinstance(value, str):
        items: Iterable[object] = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise SlaError(f"tags {value!r}: expected a list or a space-separated string")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _TAG.match(item):
            raise SlaError(f"tag {item!r}: expected 1-64 letters, digits or any of '_.:@+-'")
        if item not in tags:
            tags.append(item)
    if len(tags) > _MAX_TAGS:
        raise SlaError(f"{len(tags)} tags: at most {_MAX_TAGS}")
    return tuple(tags)


def _class_name(value: object, classes: Mapping[str, SlaClass]) -> str:
    if not isinstance(value, str) or value.strip() not in classes:
        raise SlaError(f"unknown SLA class {value!r} (known: {', '.join(sorted(classes))})")
    return value.strip()


_VALUE_KEYS = ("class", "priority", "tags", "guarantee")


def spec_from_values(values: Mapping[str, Any], classes: Mapping[str, SlaClass]) -> SlaSpec:
    """A spec from the RPC's dict ``{class, priority, tags, guarantee}`` (each optional)."""
    if not isinstance(values, Mapping):
        raise SlaError(f"expected a dict with keys {', '.join(_VALUE_KEYS)}, not {type(values).__name__}")
    unknown = sorted(str(key) for key in values if key not in _VALUE_KEYS)
    if unknown:
        raise SlaError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(_VALUE_KEYS)})")
    return SlaSpec(
        sla_class=_class_name(values["class"], classes) if "class" in values else None,
        priority=_priority(values["priority"]) if "priority" in values else None,
        tags=_tags(values["tags"]) if "tags" in values else None,
        guarantee=parse_guarantee(values["guarantee"]) if "guarantee" in values else None,
    )


# ## libvirt metadata


def _parse_element(text: str) -> ElementTree.Element:
    # libvirt serialises the metadata itself, so a DTD or an entity here is not libvirt's
    # doing: refused rather than expanded (no defusedxml needed)
    if "<!" in text:
        raise SlaError("a DTD, entity or CDATA section is not allowed")
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise SlaError(f"not well-formed XML: {error}") from None


def parse_mom_metadata(text: str, classes: Mapping[str, SlaClass]) -> SlaSpec:
    """``<mom:sla xmlns:mom="urn:mom:sla:1">`` with ``class``, ``priority``, ``tags`` and
    ``guarantee`` children (each optional, each once); SlaError names what is wrong."""
    root = _parse_element(text)
    if root.tag != f"{{{MOM_NAMESPACE}}}sla":
        raise SlaError(f"expected <sla> in namespace {MOM_NAMESPACE}, found <{root.tag}>")
    seen: dict[str, str] = {}
    for child in root:
        namespace, _, local = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        if namespace != MOM_NAMESPACE or local not in _VALUE_KEYS:
            raise SlaError(f"unexpected element <{child.tag}> (known: {', '.join(_VALUE_KEYS)} in {MOM_NAMESPACE})")
        if local in seen:
            raise SlaError(f"<{local}> given twice")
        if len(child):
            raise SlaError(f"<{local}> must hold text only")
        seen[local] = (child.text or "").strip()
    try:
        return spec_from_values(seen, classes)
    except SlaError as error:
        raise SlaError(f"<{MOM_NAMESPACE}>: {error}") from None


def parse_ovirt_custom(custom: Mapping[str, str], classes: Mapping[str, SlaClass]) -> SlaSpec:
    """oVirt's custom properties ``sla_class``, ``sla_priority``, ``sla_tags`` (others ignored)."""
    values = {
        {"sla_class": "class", "sla_priority": "priority", "sla_tags": "tags"}[key]: text
        for key, text in custom.items()
        if key in OVIRT_KEYS
    }
    try:
        return spec_from_values(values, classes)
    except SlaError as error:
        raise SlaError(f"oVirt custom property: {error}") from None


# ## [sla] rules


@dataclass(frozen=True)
class Rule:
    """``pattern  class=gold priority=70 tags=db,prod guarantee=80%``: a VM-name glob."""

    pattern: str
    spec: SlaSpec
    line: int  #: its number among the rules (1: the first), for messages


def parse_rules(text: str, classes: Mapping[str, SlaClass]) -> tuple[Rule, ...]:
    """One rule per non-empty line; SlaError with the rule's number (1: the first) if one is wrong."""
    rules = []
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        words = line.split()
        pattern, settings = words[0], words[1:]
        values: dict[str, str] = {}
        for word in settings:
            key, equals, value = word.partition("=")
            if not equals or not value:
                raise SlaError(f"rule {number} ({line.strip()!r}): {word!r} is not key=value")
            if key in values:
                raise SlaError(f"rule {number}: {key} given twice")
            values[key] = value
        if not values:
            raise SlaError(f"rule {number} ({line.strip()!r}): a pattern needs at least one key=value")
        try:
            rules.append(Rule(pattern, spec_from_values(values, classes), number))
        except SlaError as error:
            raise SlaError(f"rule {number} ({line.strip()!r}): {error}") from None
    return tuple(rules)


def match_rules(rules: Iterable[Rule], name: str) -> SlaSpec | None:
    """The first rule whose pattern matches the VM name (case-sensitive), or None."""
    for rule in rules:
        if fnmatch.fnmatchcase(name, rule.pattern):
            return rule.spec
    return None


# ## Precedence


def combine(specs: Mapping[str, SlaSpec | None], classes: Mapping[str, SlaClass], default_class: str) -> Sla:
    """The effective SLA: each field from the highest source (:data:`SOURCES`) that sets it."""
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source in SOURCES:
        spec = specs.get(source)
        if spec is None:
            continue
        for name in ("sla_class", "priority", "tags", "guarantee"):
            value = getattr(spec, name)
            if value is not None and name not in chosen:
                chosen[name] = value
                sources[name] = source
    for name, value in (("sla_class", default_class), ("priority", DEFAULT_PRIORITY), ("tags", ())):
        if name not in chosen:
            chosen[name] = value
            sources[name] = "default"
    if "guarantee" not in chosen:
        sources["guarantee"] = "class"
    return Sla(classes[chosen["sla_class"]], chosen["priority"], chosen["tags"], chosen.get("guarantee"), sources)
