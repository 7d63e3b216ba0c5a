"""mom-policy check: the vdsm policies, ours, broken inputs, exit status and output format."""

from __future__ import annotations

import re
from pathlib import Path

from mom.policy_sets import DEFAULT_SET, shipped_sets
from tests.cli.conftest import POLICIES, VDSM_POLICIES, run_script

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|note): (?P<message>.+) \[(?P<code>[a-z-]+)\]$")


def parse(out: str) -> list[dict[str, str]]:
    rows = []
    for line in out.splitlines():
        match = LINE.match(line)
        assert match, f"not FILE:LINE:COL: SEVERITY: MESSAGE [CODE]: {line!r}"
        rows.append(match.groupdict())
    return rows


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_vdsm_policies_warn_about_guest_qos(cli) -> None:
    run = cli("check", *VDSM_POLICIES)
    assert run.status == 0  # warnings only
    rows = parse(run.out)
    assert [(Path(r["file"]).name, r["line"], r["col"], r["severity"], r["code"]) for r in rows] == [
        ("02-balloon.policy", "130", "17", "warning", "unused-variable"),
        ("02-balloon.policy", "132", "12", "warning", "dynamic-scope"),
    ]
    assert "'quest'" in rows[0]["message"]
    assert "function 'guest_qos' reads 'guest' without binding it" in rows[1]["message"]
    assert "0 errors, 2 warnings, 0 notes in 6 files" in run.err


def test_strict_makes_warnings_fail(cli) -> None:
    assert cli("check", "--strict", *VDSM_POLICIES).status == 1


def test_shipped_policies_are_clean(cli) -> None:
    run = cli("check", "--strict", *POLICIES)
    assert (run.status, run.out, run.err) == (0, "", "")


def test_a_set_name_or_a_directory_stands_for_its_files_in_load_order(cli, tmp_path: Path, monkeypatch) -> None:
    assert cli("check", DEFAULT_SET).out == cli("check", *POLICIES).out
    directory = tmp_path / "mom.d"
    directory.mkdir()
    (directory / "10-b.policy").write_text("(defvar b (+ a 1))\n")
    (directory / "00-a.policy").write_text("(defvar a 1)\n")
    (directory / ".hidden.policy").write_text("(broken\n")  # as the daemon: skipped
    (directory / "README").write_text("not a policy")
    run = cli("check", "--strict", str(directory))  # 00-a first, then 10-b: 'a' is defined
    assert (run.status, run.out) == (0, f"{directory / '10-b.policy'}:1:9: note: 'b' is computed but never read [unused-global]\n")
    run = cli("check", str(directory / "10-b.policy"))  # alone: 'a' is undefined
    assert run.status == 1 and "undefined-symbol" in run.out
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULT_SET).write_text("(defvar x\n")  # a file of the set's name is that file
    run = cli("check", DEFAULT_SET)
    assert run.status == 1 and run.out.startswith(f"{DEFAULT_SET}:1:1: error: ")
    run = cli("check", "no-such-set")
    assert (run.status, run.out) == (2, "")
    assert run.err == (
        "mom-policy: no-such-set: cannot read: no such file or directory, and no shipped policy set "
        f"of that name (shipped: {', '.join(shipped_sets())})\n"
    )


def test_files_are_one_program_in_the_given_order(cli) -> None:
    """00-defines defines True; given after the file that reads it, it is too late."""
    defines, cputune = VDSM_POLICIES[0], VDSM_POLICIES[4]
    assert cli("check", defines, cputune).status == 0
    run = cli("check", cputune, defines)
    assert run.status == 1
    errors = [r for r in parse(run.out) if r["severity"] == "error"]
    assert errors and all(r["code"] == "undefined-symbol" for r in errors)
    assert any("'True'" in r["message"] and f"defined only later, at {defines}:7" in r["message"] for r in errors)


def test_positions_are_per_file(cli, tmp_path: Path) -> None:
    first = write(tmp_path, "a.policy", "# one\n# two\n(defvar x 1)\n")
    second = write(tmp_path, "b.policy", "\n\n  (debug (+ x y))\n")
    run = cli("check", first, second)
    assert run.status == 1
    assert run.out == f"{second}:3:15: error: undefined symbol 'y' read here [undefined-symbol]\n"


def test_parse_error_has_position_and_detail(cli, tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.policy", "(defvar a 1)\n(defvar b\n   (+ a 1]\n")
    run = cli("check", broken)
    assert run.status == 1
    rows = parse(run.out)
    assert rows[0] == {
        "file": broken, "line": "3", "col": "10", "severity": "error", "code": "parse-error",
        "message": "parse error: ']' does not close '(' opened at line 3, column 4",
    }
    assert rows[1]["severity"] == "note" and rows[1]["code"] == "incomplete"


def test_parse_error_in_one_file_does_not_flood_the_others(cli, tmp_path: Path) -> None:
    broken = write(tmp_path, "00-defines.policy", "(defvar True 1\n")
    user = write(tmp_path, "01-user.policy", "(debug True)\n")
    rows = parse(cli("check", broken, user).out)
    assert [(r["code"], r["file"]) for r in rows] == [("parse-error", broken), ("incomplete", broken)]


def test_discarded_text_is_a_warning(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "p.policy", "(defvar a 1)\n(debug a) ; a comment in the wrong syntax\n(debug 2)\n")
    run = cli("check", path)
    assert run.status == 0
    [row] = parse(run.out)
    assert (row["line"], row["col"], row["severity"], row["code"]) == ("2", "11", "warning", "discarded-text")
    assert "';' is not part of the policy language" in row["message"] and "(2 lines)" in row["message"]
    assert cli("check", "--strict", path).status == 1


def test_final_comment_without_newline_is_fine(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "p.policy", "(debug 1)\n# the end, no newline")
    assert cli("check", "--strict", path) == (0, "", "")


def test_compile_limits_are_errors(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "deep.policy", "(debug " * 350 + "1" + ")" * 350 + "\n")
    run = cli("check", path)
    assert run.status == 1
    row = parse(run.out)[0]
    assert row["code"] == "parse-error" and "nesting deeper than 333 levels" in row["message"]


def test_missing_file_is_a_usage_error(cli, tmp_path: Path) -> None:
    run = cli("check", str(tmp_path / "nope.policy"))
    assert run.status == 2
    assert run.out == ""
    assert run.err == f"mom-policy: {tmp_path / 'nope.policy'}: cannot read: No such file or directory\n"
    binary = tmp_path / "binary.policy"
    binary.write_bytes(b"(a)\xff")
    run = cli("check", str(binary))
    assert (run.status, run.out) == (2, "")
    assert run.err == f"mom-policy: {binary}: not UTF-8 text: invalid start byte at byte 3\n"


def test_no_files_is_a_usage_error(cli) -> None:
    run = cli("check")
    assert run.status == 2 and "usage:" in run.err


def test_console_script(tmp_path: Path) -> None:
    run = run_script("check", *VDSM_POLICIES)
    assert run.status == 0
    assert len(run.out.splitlines()) == 2 and "dynamic-scope" in run.out
    version = run_script("--version")
    assert version.status == 0
    name, engine = version.out.splitlines()
    assert re.fullmatch(r"mom-policy \d+\.\d+\.\d+\S*", name)
    assert engine.startswith("policy engine: ")
