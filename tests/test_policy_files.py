"""mom.policy_files: reading policy files and naming them, and the daemon's policy loading
when a file cannot be read (spec 5.6: the other files still load)."""

from __future__ import annotations

import configparser
import logging
from pathlib import Path

import pytest

from mom.config import load_config
from mom.policy_files import UnreadableFileError, policy_name, policy_name_from_file, read_text
from mom.runtime.engine import PolicyEngine

NOT_UTF8 = b"(defvar x 1)\n\xff\xfe\n"


def test_read_text(tmp_path: Path) -> None:
    good = tmp_path / "good.policy"
    good.write_text("(defvar \u00e9 1)\n", encoding="utf-8")
    assert read_text(str(good)) == "(defvar \u00e9 1)\n"
    bad = tmp_path / "bad.policy"
    bad.write_bytes(NOT_UTF8)
    with pytest.raises(UnreadableFileError) as caught:
        read_text(str(bad))
    assert str(caught.value) == f"{bad}: not UTF-8 text: invalid start byte at byte 13"
    with pytest.raises(UnreadableFileError, match="none.policy: cannot read: No such file or directory"):
        read_text(str(tmp_path / "none.policy"))
    with pytest.raises(OSError, match="cannot read: Is a directory"):  # an OSError for callers that catch those
        read_text(str(tmp_path))


@pytest.mark.parametrize(
    ("filename", "name", "in_policy_dir"),
    [
        ("01-parameters.policy", "01-parameters", "01-parameters"),
        ("a.policy.policy", "a", "a"),
        ("/etc/vdsm/mom.d/02-balloon.policy", "02-balloon", "02-balloon"),
        ("x.rules", "x.rules", None),
        (".hidden.policy", ".hidden", None),
        ("a.policy~", "a", None),
    ],
)
def test_policy_names(filename: str, name: str, in_policy_dir: str | None) -> None:
    assert policy_name(filename) == name
    assert policy_name_from_file(filename.rsplit("/", 1)[-1]) == in_policy_dir


def _engine(**main: str) -> PolicyEngine:
    overrides = configparser.ConfigParser()
    overrides.read_dict({"main": {"controllers": "", "rpc-port": "-1", **main}})
    loaded = load_config("", overrides)
    return PolicyEngine(loaded.parser, None, None, None, loaded.settings)


def test_an_undecodable_file_in_policy_dir_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "00-defines.policy").write_text("(defvar a 1)\n")
    (tmp_path / "01-binary.policy").write_bytes(NOT_UTF8)
    (tmp_path / "02-use.policy").write_text("(defvar b (+ a 1))\n")
    with caplog.at_level(logging.ERROR, logger="mom.PolicyEngine"):
        engine = _engine(**{"policy-dir": str(tmp_path)})
    assert sorted(engine.rpc_get_named_policies()) == ["00-defines", "02-use"]
    assert f"Unable to read policy file: {tmp_path / '01-binary.policy'}: not UTF-8 text" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mom.PolicyEngine"):
        assert engine.rpc_reset_policy() is True  # resetPolicies loads the others again
    assert sorted(engine.rpc_get_named_policies()) == ["00-defines", "02-use"]
    assert "01-binary.policy: not UTF-8 text" in caplog.text


def test_an_undecodable_policy_file_is_a_read_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    policy = tmp_path / "one.policy"
    policy.write_bytes(NOT_UTF8)
    with caplog.at_level(logging.ERROR, logger="mom.PolicyEngine"):
        engine = _engine(policy=str(policy))
    assert engine.rpc_get_named_policies() == {}
    assert f"Unable to read policy file: {policy}: not UTF-8 text" in caplog.text
    assert engine.rpc_reset_policy() is False  # upstream's value for an unreadable file
