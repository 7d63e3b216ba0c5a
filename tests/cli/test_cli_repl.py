"""mom-policy repl driven through stdin, as a pipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mom.cli.repl import format_value, needs_more
from tests.cli.conftest import GUESTS, HOST, POLICIES, run_script


def test_values_and_persistent_definitions(cli) -> None:
    run = cli("repl", stdin="(defvar x 5)\n(+ x 1)\n(def double (a) (* a 2))\n(double x) (double 0.5)\n")
    assert (run.status, run.err) == (0, "")
    assert run.out.splitlines() == ["5", "6", '"double"', "10", "1.0"]


def test_input_continues_until_brackets_balance(cli) -> None:
    run = cli("repl", stdin="(def f (a)\n  {\n    (+ a 1)\n  })\n(f\n 41)\n")
    assert run.out.splitlines() == ['"f"', "42"]


def test_strings_and_comments_do_not_confuse_balancing(cli) -> None:
    run = cli("repl", stdin='(debug "a ( b" # ) not closing\n  \'x\')\n(debug "two\nlines")\n')
    assert run.out.splitlines() == ['"x"', '"two\\nlines"']


def test_errors_are_described_and_the_loop_goes_on(cli) -> None:
    run = cli("repl", stdin="(/ 1 0)\n(nosuch 1)\n(+ 1 1)\n")
    assert run.status == 1  # some input failed
    lines = run.out.splitlines()
    assert lines[0] == "error: ZeroDivisionError: division by zero (line 1, column 1; in (/ 1 0))"
    assert lines[1].startswith("error: KeyError") and "'nosuch'" in lines[1] and "(nosuch 1)" in lines[1]
    assert lines[2] == "2"


def test_a_failed_call_leaves_no_variables_behind(cli) -> None:
    """Upstream leaves a failed call's scope on the stack; the REPL unwinds it."""
    run = cli("repl", stdin="(def f (leak) (/ leak 0))\n(f 7)\nleak\n")
    lines = run.out.splitlines()
    assert lines[1].startswith("error: ZeroDivisionError")
    assert lines[2].startswith("error: undefined symbol leak")


def test_parse_error_and_unfinished_input(cli) -> None:
    run = cli("repl", stdin="(+ 1 2))\n(+ 3\n")
    lines = run.out.splitlines()
    assert lines[0].startswith("error: parse error (line 1, column 8; unexpected ')'")
    assert lines[1].startswith("error: parse error") and "never closed" in lines[1]
    assert run.status == 1


def test_host_and_guests(cli) -> None:
    names = [g["name"] for g in json.loads(Path(GUESTS).read_text())]
    stdin = '(Host.Stat "cpu_count")\n(with Guests g (g.Prop "name"))\n(with Guests g (g.Control "x" 1))\n:controls\n'
    run = cli("repl", "--host", HOST, "--guests", GUESTS, stdin=stdin)
    assert run.status == 0, run.out
    lines = run.out.splitlines()
    assert lines[0] == "16"
    assert lines[1] == "[" + ", ".join(json.dumps(n) for n in names) + "]"
    assert lines[2] == "[" + ", ".join(["nil"] * len(names)) + "]"
    assert lines[3] == "Host: {}"
    assert lines[4:] == [f'{name}: {{"x": 1}}' for name in names]


def test_policy_files_are_loaded_first(cli) -> None:
    run = cli("repl", *POLICIES[:1], stdin="True\nballoonEnabled\n")
    assert (run.status, run.out.splitlines()) == (0, ["1", "0"])


def test_a_policy_file_that_fails_to_load(cli, tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text("(debug Host)\n")
    run = cli("repl", str(path), stdin="1\n")
    assert run.status == 1
    assert run.err.startswith(f"mom-policy: {path}: undefined symbol Host")


def test_commands(cli) -> None:
    run = cli("repl", stdin="(defvar answer 42)\n(def f (a b) a)\n:vars\n:funcs\n:help\n:bogus\n:quit\n(+ 1 1)\n")
    out = run.out
    assert "answer = 42" in out
    assert "(f (a b))" in out
    assert ":controls" in out  # the help text
    assert "error: unknown command :bogus (try :help)" in out
    assert "2" not in out.splitlines()  # nothing is read after :quit
    assert run.status == 1


@pytest.mark.parametrize(
    "text, more",
    [("(a", True), ("(a)", False), ("(a))", False), ('(a "(")', False), ('(a "x', True), ("(a # )\n", True), ("", False)],
)
def test_needs_more(text: str, more: bool) -> None:
    assert needs_more(text) is more


def test_format_value() -> None:
    assert [format_value(v) for v in (None, 1, 2.5, "s", [1, None], True)] == ["nil", "1", "2.5", '"s"', "[1, nil]", "True"]


def test_console_script_with_a_pipe() -> None:
    run = run_script("repl", "--host", HOST, stdin='(Host.StatAvg "mem_free")\n')
    assert run.status == 0, run.err
    stats = json.loads(Path(HOST).read_text())["stats"]
    assert float(run.out) == sum(s["mem_free"] for s in stats) / len(stats)
