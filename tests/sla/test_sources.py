"""The sources of an SLA: our metadata element, oVirt's custom properties, [sla] rules, precedence."""

from __future__ import annotations

import pytest

from mom.config import load_config
from mom.errors import ConfigError
from mom.sla.classes import DEFAULT_CLASSES, Guarantee, SlaError
from mom.sla.sources import (
    SlaSpec,
    combine,
    match_rules,
    parse_mom_metadata,
    parse_ovirt_custom,
    parse_rules,
    spec_from_values,
)

NS = "urn:mom:sla:1"
CLASSES = DEFAULT_CLASSES


def element(body: str, prefix: str = "mom") -> str:
    return f'<{prefix}:sla xmlns:{prefix}="{NS}">{body}</{prefix}:sla>'


def test_the_documented_element():
    text = element("<mom:class>gold</mom:class><mom:priority>70</mom:priority><mom:tags>db prod</mom:tags>")
    assert parse_mom_metadata(text, CLASSES) == SlaSpec("gold", 70, ("db", "prod"))


def test_any_prefix_and_a_guarantee():
    text = element("<x:guarantee>90%</x:guarantee><x:class> platinum </x:class>", prefix="x")
    assert parse_mom_metadata(text, CLASSES) == SlaSpec("platinum", None, None, Guarantee(fraction=0.9))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (element("<mom:class>silver</mom:class>"), "unknown SLA class 'silver'"),
        (element("<mom:priority>101</mom:priority>"), "priority '101': expected an integer 0-100"),
        (element("<mom:priority>high</mom:priority>"), "priority 'high'"),
        (element("<mom:class>gold</mom:class><mom:class>gold</mom:class>"), "<class> given twice"),
        (element("<mom:prio>7</mom:prio>"), "unexpected element"),
        (element("<class xmlns='urn:other'>gold</class>"), "unexpected element"),
        (element("<mom:class><mom:x/></mom:class>"), "text only"),
        (element("<mom:tags>a;b</mom:tags>"), "tag 'a;b'"),
        (f'<mom:qos xmlns:mom="{NS}"/>', "expected <sla>"),
        (element("<mom:class>gold"), "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY e "gold">]>' + element("<mom:class>&e;</mom:class>"), "DTD"),
    ],
)
def test_malformed_elements_say_why(text, message):
    with pytest.raises(SlaError, match=message):
        parse_mom_metadata(text, CLASSES)


def test_ovirt_custom_properties():
    custom = {"sla_class": "compute", "sla_priority": "20", "sla_tags": "batch", "other": "ignored"}
    assert parse_ovirt_custom(custom, CLASSES) == SlaSpec("compute", 20, ("batch",))
    with pytest.raises(SlaError, match="oVirt custom property: unknown SLA class 'bronze'"):
        parse_ovirt_custom({"sla_class": "bronze"}, CLASSES)


def test_rpc_values():
    values = {"class": "gold", "priority": 0, "tags": ["db", "db", "prod"], "guarantee": "2GiB"}
    assert spec_from_values(values, CLASSES) == SlaSpec("gold", 0, ("db", "prod"), Guarantee(kib=2 * 1024 * 1024))
    with pytest.raises(SlaError, match="unknown key"):
        spec_from_values({"klass": "gold"}, CLASSES)
    with pytest.raises(SlaError, match="priority True"):
        spec_from_values({"priority": True}, CLASSES)


def test_rules_first_match_wins_and_are_case_sensitive():
    rules = parse_rules(
        """
        db-*       class=gold priority=70 tags=db,prod
        *          class=compute
        """,
        CLASSES,
    )
    assert match_rules(rules, "db-01") == SlaSpec("gold", 70, ("db", "prod"))
    assert match_rules(rules, "DB-01") == SlaSpec("compute")
    assert match_rules(parse_rules("web-?? priority=60", CLASSES), "api") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("db-* class", r"rule 1 .*'class' is not key=value"),
        ("db-*", "at least one key=value"),
        ("a class=gold\nb class=silver", r"rule 2 .*unknown SLA class 'silver'"),
        ("a priority=1 priority=2", "priority given twice"),
        ("a colour=red", "unknown key"),
    ],
)
def test_bad_rules(text, message):
    with pytest.raises(SlaError, match=message):
        parse_rules(text, CLASSES)


def test_rules_in_mom_conf(tmp_path):
    path = tmp_path / "mom.conf"
    path.write_text("[sla]\nrules =\n    db-*  class=gold\n    *  class=vapor\ndefault-class = compute\n")
    sla = load_config(str(path)).settings.sla
    assert [rule.pattern for rule in sla.rules] == ["db-*", "*"]
    assert sla.default_class == "compute"
    path.write_text("[sla]\nrules =\n    db-*  class=gold\n    x class=tin\n")
    with pytest.raises(ConfigError, match=r"mom.conf: \[sla\] rules: rule 2 .*'tin'"):
        load_config(str(path))


def test_each_field_comes_from_the_highest_source_that_sets_it():
    specs = {
        "rpc": SlaSpec(priority=90),
        "metadata": SlaSpec("gold", 70),
        "ovirt": SlaSpec("platinum", 10, ("ovirt",)),
        "rule": SlaSpec("vapor", 1, ("rule",), Guarantee(fraction=0.1)),
    }
    sla = combine(specs, CLASSES, "standard")
    assert (sla.sla_class.name, sla.priority, sla.tags, sla.guarantee) == ("gold", 90, ("ovirt",), Guarantee(fraction=0.1))
    assert sla.sources == {"priority": "rpc", "sla_class": "metadata", "tags": "ovirt", "guarantee": "rule"}


def test_nothing_said_gives_the_default_class():
    sla = combine({}, CLASSES, "standard")
    assert (sla.sla_class.name, sla.priority, sla.tags, sla.guarantee) == ("standard", 50, (), None)
    assert sla.sources["sla_class"] == "default"
