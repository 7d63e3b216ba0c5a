"""The SLA part of ``mom.conf``: ``[sla]`` (default class, rules, tag fields) and ``[sla-class NAME]``.

:func:`parse_sla_config` is called by :func:`mom.config.validate` with those sections
read raw (a guarantee of ``75%`` is no interpolation), and gives the :class:`SlaConfig`
that :class:`mom.config.Settings` carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from mom.errors import ConfigError
from mom.sla.classes import (
    CLASS_SECTION_PREFIX,
    DEFAULT_CLASS,
    DEFAULT_CLASSES,
    SlaClass,
    SlaError,
    parse_class_sections,
)
from mom.sla.sources import Rule, parse_rules

__all__ = ["SLA_SECTION", "SLA_KEYS", "SlaConfig", "parse_sla_config", "is_sla_section", "tag_field"]

SLA_SECTION = "sla"
#: key of [sla] -> help (the README lists them)
SLA_KEYS = {
    "default-class": "class of the guests nothing else classifies",
    "rules": "one rule a line: VM-name glob, then class=, priority=, tags=, guarantee=",
    "tag-fields": "tags policies test as the guest fields sla_tag_<tag> (1 or 0)",
}
_TAG_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def tag_field(tag: str) -> str:
    """The guest field that says whether a guest has ``tag``."""
    return "sla_tag_" + tag


@dataclass(frozen=True)
class SlaConfig:
    """The class table, the default class, the name rules and the tags turned into fields."""

    classes: Mapping[str, SlaClass] = field(default_factory=lambda: dict(DEFAULT_CLASSES))
    default_class: str = DEFAULT_CLASS
    rules: tuple[Rule, ...] = ()
    tag_fields: tuple[str, ...] = ()


def is_sla_section(section: str) -> bool:
    """``[sla]`` or ``[sla-class NAME]``."""
    return section == SLA_SECTION or section.startswith(CLASS_SECTION_PREFIX)


def parse_sla_config(
    sections: Mapping[str, Mapping[str, str]], where: Callable[[str, str], str]
) -> tuple[SlaConfig, list[str]]:
    """Validate the raw SLA sections; ConfigError names the file, section and key.

    :param where: ``where(section, key)`` is the file the key came from
    :returns: the configuration and the warnings (unknown keys)
    """
    class_sections = {name: keys for name, keys in sections.items() if name.startswith(CLASS_SECTION_PREFIX)}
    classes, warnings = parse_class_sections(class_sections, where)
    keys = sections.get(SLA_SECTION, {})
    for key in keys:
        if key not in SLA_KEYS:
            warnings.append(
                f"unknown option '{key}' in section '{SLA_SECTION}' of '{where(SLA_SECTION, key)}' (ignored)"
            )
    default_class = keys.get("default-class", DEFAULT_CLASS).strip()
    if default_class not in classes:
        raise ConfigError(
            f"{where(SLA_SECTION, 'default-class')}: [{SLA_SECTION}] default-class = {default_class!r}:"
            f" unknown SLA class (known: {', '.join(sorted(classes))})"
        )
    try:
        rules = parse_rules(keys.get("rules", ""), classes)
    except SlaError as error:
        raise ConfigError(f"{where(SLA_SECTION, 'rules')}: [{SLA_SECTION}] rules: {error}") from None
    tag_fields = tuple(dict.fromkeys(item.strip() for item in keys.get("tag-fields", "").split(",") if item.strip()))
    for tag in tag_fields:
        if not _TAG_FIELD.match(tag):
            raise ConfigError(
                f"{where(SLA_SECTION, 'tag-fields')}: [{SLA_SECTION}] tag-fields: {tag!r} cannot be a field name"
                " (1-32 lower-case letters, digits or '_', starting with a letter)"
            )
    return SlaConfig(classes, default_class, rules, tag_fields), warnings
