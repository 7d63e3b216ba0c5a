"""The class table: shipped defaults, [sla-class NAME] sections, guarantees in KiB."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mom.config import load_config
from mom.errors import ConfigError
from mom.sla.classes import (
    DEFAULT_CLASSES,
    Guarantee,
    SlaError,
    guarantee_kib,
    margin_kib,
    parse_fraction,
    parse_guarantee,
)

GIB = 1024 * 1024


def conf(tmp_path, text: str) -> str:
    path = tmp_path / "mom.conf"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("text", "value"), [("0.75", 0.75), ("75%", 0.75), ("75 %", 0.75), ("0", 0.0), ("100%", 1.0)])
def test_fractions(text, value):
    assert parse_fraction(text) == value


@pytest.mark.parametrize("text", ["1.5", "-0.1", "101%", "nan", "lots", ""])
def test_bad_fractions(text):
    with pytest.raises(ValueError):
        parse_fraction(text)


def test_shipped_classes():
    table = DEFAULT_CLASSES
    assert {name: c.guarantee for name, c in table.items()} == {
        "platinum": 1.0,
        "gold": 0.75,
        "standard": 0.0,
        "compute": 0.0,
        "vapor": 0.0,
    }
    # reclaimed first ... last
    assert sorted(table, key=lambda name: table[name].reclaim_order) == ["vapor", "compute", "standard", "gold", "platinum"]
    assert table["compute"].margin < table["standard"].margin
    assert [name for name, c in table.items() if c.power_off] == ["vapor"]


def test_guarantee_is_a_share_of_balloon_max_never_below_balloon_min():
    gold, standard, platinum = DEFAULT_CLASSES["gold"], DEFAULT_CLASSES["standard"], DEFAULT_CLASSES["platinum"]
    assert guarantee_kib(4 * GIB, 0, gold) == 3 * GIB
    assert guarantee_kib(4 * GIB, 0, platinum) == 4 * GIB
    assert guarantee_kib(4 * GIB, GIB, standard) == GIB  # balloon_min, as upstream
    assert guarantee_kib(4 * GIB, 3.5 * GIB, gold) == 3.5 * GIB  # balloon_min above the class's share
    # an explicit guarantee replaces the class's, within balloon_min..balloon_max
    assert guarantee_kib(4 * GIB, 0, gold, Guarantee(fraction=0.5)) == 2 * GIB
    assert guarantee_kib(4 * GIB, GIB, gold, Guarantee(kib=GIB // 2)) == GIB
    assert guarantee_kib(4 * GIB, 0, gold, Guarantee(kib=8 * GIB)) == 4 * GIB


def test_margins_are_shares_of_balloon_max():
    assert margin_kib(4 * GIB, DEFAULT_CLASSES["standard"]) == int(0.2 * 4 * GIB)
    assert margin_kib(4 * GIB, DEFAULT_CLASSES["compute"]) == int(0.1 * 4 * GIB)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("75%", Guarantee(fraction=0.75)), (0.5, Guarantee(fraction=0.5)), ("2GiB", Guarantee(kib=2 * GIB)), ("512 MiB", Guarantee(kib=512 * 1024))],
)
def test_explicit_guarantees(value, expected):
    assert parse_guarantee(value) == expected
    assert parse_guarantee(str(expected)) == expected  # the text form reads back


@pytest.mark.parametrize("value", [2048, True, "2 GB", None, "-5%"])
def test_bad_explicit_guarantees(value):
    with pytest.raises(SlaError, match="guarantee"):
        parse_guarantee(value)


def test_sections_override_and_extend_the_table(tmp_path):
    path = conf(
        tmp_path,
        "[sla-class gold]\nguarantee = 80%\n\n"
        "[sla-class bronze]\nguarantee = 0.4\nreclaim-order = 15\nmargin = 10%\npower-off = yes\n",
    )
    loaded = load_config(path)
    classes = loaded.settings.sla.classes
    assert classes["gold"].guarantee == 0.8
    assert classes["gold"].reclaim_order == DEFAULT_CLASSES["gold"].reclaim_order  # the rest kept
    bronze = classes["bronze"]
    assert (bronze.guarantee, bronze.reclaim_order, bronze.margin, bronze.power_off) == (0.4, 15, 0.1, True)
    assert set(classes) == set(DEFAULT_CLASSES) | {"bronze"}
    assert not [w for w in loaded.warnings if "sla" in w]  # known sections: no "unknown section" warning


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sla-class gold]\nguarantee = 120%\n", r"mom.conf: \[sla-class gold\] guarantee = '120%': expected a fraction"),
        ("[sla-class gold]\nreclaim-order = last\n", r"\[sla-class gold\] reclaim-order = 'last': expected an integer"),
        ("[sla-class gold]\npower-off = maybe\n", r"\[sla-class gold\] power-off = 'maybe': expected a boolean"),
        ("[sla-class Gold Plus]\nguarantee = 1\n", r"\[sla-class Gold Plus\]: class name 'Gold Plus'"),
        ("[sla]\ndefault-class = silver\n", r"\[sla\] default-class = 'silver': unknown SLA class"),
    ],
)
def test_bad_sections_name_file_section_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(conf(tmp_path, text))


def test_unknown_class_key_is_a_warning(tmp_path):
    loaded = load_config(conf(tmp_path, "[sla-class gold]\nguarantees = 80%\n"))
    assert any("unknown option 'guarantees' in section 'sla-class gold'" in w for w in loaded.warnings)
    assert loaded.settings.sla.classes["gold"].guarantee == 0.75


def test_reclaim_ranks_follow_the_reclaim_order_and_platinum_is_never_reclaimed():
    from mom.sla.allocator import PLATINUM, RANKS
    from mom.sla.classes import reclaim_ranks

    assert reclaim_ranks(DEFAULT_CLASSES) == RANKS
    table = dict(DEFAULT_CLASSES)
    table["batch"] = replace(DEFAULT_CLASSES["standard"], name="batch", reclaim_order=5)
    table["keep"] = replace(DEFAULT_CLASSES["gold"], name="keep", guarantee=1.0, reclaim_order=0)
    ranks = reclaim_ranks(table)
    assert (ranks["vapor"], ranks["batch"], ranks["compute"], ranks["standard"], ranks["gold"]) == (0, 1, 2, 3, 4)
    assert ranks["keep"] == ranks["platinum"] == PLATINUM
