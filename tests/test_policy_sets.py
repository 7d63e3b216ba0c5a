"""mom.policy_sets: the shipped sets, and one rule telling a set's name from a directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mom.config import load_config
from mom.policy_files import policy_dir_files
from mom.policy_sets import (
    DEFAULT_SET,
    PolicySetError,
    missing_reason,
    resolve_policy_dir,
    shipped_set_dir,
    shipped_sets,
)

PACKAGE = Path(__file__).resolve().parents[1] / "mom"


def test_the_default_set_is_shipped_inside_the_package() -> None:
    assert DEFAULT_SET in shipped_sets()
    for name in shipped_sets():
        directory = Path(shipped_set_dir(name))
        assert directory.parent == PACKAGE / "policies"
        assert [Path(path).suffix for path in policy_dir_files(str(directory))] != []


def test_an_unknown_set_lists_the_shipped_ones() -> None:
    with pytest.raises(PolicySetError, match=rf"no shipped policy set 'gold' \(shipped: .*{DEFAULT_SET}"):
        shipped_set_dir("gold")
    with pytest.raises(PolicySetError):
        shipped_set_dir(f"../policies/{DEFAULT_SET}")  # a set is a name, never a path


def test_a_bare_set_name_is_the_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_policy_dir(DEFAULT_SET) == shipped_set_dir(DEFAULT_SET)
    assert resolve_policy_dir(DEFAULT_SET, str(tmp_path)) == shipped_set_dir(DEFAULT_SET)
    assert missing_reason(DEFAULT_SET) is None


def test_an_existing_directory_wins_over_a_set_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULT_SET).mkdir()
    assert resolve_policy_dir(DEFAULT_SET) == DEFAULT_SET  # as given: upstream's relative path
    elsewhere = tmp_path / "scenarios"
    (elsewhere / DEFAULT_SET).mkdir(parents=True)
    assert resolve_policy_dir(DEFAULT_SET, str(elsewhere)) == str(elsewhere / DEFAULT_SET)


@pytest.mark.parametrize("value", ["/etc/vdsm/mom.d", "examples/momd.d", "./vdsm", "no-such-dir/", ""])
def test_paths_are_kept_as_given(value: str) -> None:
    assert resolve_policy_dir(value) == value
    assert missing_reason(value) is None  # reading the path says what is wrong with it


def test_a_bare_name_that_is_nothing_says_what_would_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_policy_dir("vdms") == "vdms"
    assert missing_reason("vdms") == f"'vdms' is neither a directory nor a shipped policy set (shipped: {', '.join(shipped_sets())})"
    (tmp_path / "vdms").write_text("a file, not a directory")
    assert missing_reason("vdms") is not None


def test_policy_dir_in_mom_conf_names_a_set_or_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "mom.conf"
    conf.write_text(f"[main]\npolicy-dir: {DEFAULT_SET}\n")
    loaded = load_config(str(conf))
    assert loaded.settings.policy_dir == shipped_set_dir(DEFAULT_SET) and loaded.warnings == []
    conf.write_text("[main]\npolicy-dir: /etc/vdsm/mom.d\n")
    assert load_config(str(conf)).settings.policy_dir == "/etc/vdsm/mom.d"
    conf.write_text("[main]\npolicy-dir: vdms\n")
    loaded = load_config(str(conf))
    assert loaded.settings.policy_dir == "vdms"  # upstream's behaviour: the engine logs that it cannot read it
    assert loaded.warnings == [f"[main] policy-dir {missing_reason('vdms')}"]
    os.mkdir(tmp_path / "vdms")
    assert load_config(str(conf)).warnings == []
