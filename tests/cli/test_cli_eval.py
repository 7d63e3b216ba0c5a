"""mom-policy eval: the examples, vdsm's parameters, failures placed in their file, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mom.policy_files import policy_name
from mom.policy_sets import DEFAULT_SET
from tests.cli.conftest import GUESTS, HOST, POLICIES, VDSM_POLICIES, run_script


def examples() -> tuple[dict, dict]:
    host = json.loads(Path(HOST).read_text())
    guests = {g["name"]: g for g in json.loads(Path(GUESTS).read_text())}
    return host, guests


def evaluate(cli, *extra: str, files=POLICIES) -> dict:
    run = cli("eval", "--host", HOST, "--guests", GUESTS, *extra, *files)
    assert run.status == 0, run.err
    assert run.err == ""
    return json.loads(run.out)


def test_examples(cli) -> None:
    host, guests = examples()
    result = evaluate(cli)
    assert result["ok"] is True and "error" not in result
    assert list(result["guests"]) == list(guests)
    # the host is short of memory: KSM runs, scanning faster, capped at ksm_npages_max
    assert result["host"]["ksm_run"] == 1
    assert result["host"]["ksm_pages_to_scan"] == host["stats"][-1]["ksm_pages_to_scan"] + 300
    # ballooning is off by default: ballooned guests grow back, nobody shrinks
    for name, controls in result["guests"].items():
        stats = guests[name]["stats"][-1]
        if "balloon_target" in controls:
            assert controls["balloon_target"] > stats["balloon_cur"]
    assert set(n for n, c in result["guests"].items() if "balloon_target" in c) == {"web-02", "build-01", "win-01"}
    # win-01 is below its guarantee: it gets exactly its balloon_min, an int
    win = guests["win-01"]["stats"][-1]
    assert result["guests"]["win-01"]["balloon_target"] == win["balloon_min"]
    assert type(result["guests"]["win-01"]["balloon_target"]) is int
    # cache-01 reports no memory statistics: left alone, but its CPU is still tuned
    assert "balloon_target" not in result["guests"]["cache-01"]
    assert result["guests"]["cache-01"] == {"vcpu_quota": -1, "vcpu_period": 100000}


def test_examples_cpu_limits(cli) -> None:
    host, guests = examples()
    result = evaluate(cli)
    cpus = host["stats"][-1]["cpu_count"]
    build, batch = guests["build-01"]["stats"][-1], guests["batch-01"]["stats"][-1]
    # 50% of 16 CPUs over 100 ms, spread over 8 vCPUs; the period is unchanged so not sent
    assert result["guests"]["build-01"]["vcpu_quota"] == build["vcpu_user_limit"] / 100 * 100000 * cpus / build["vcpu_count"]
    assert "vcpu_period" not in result["guests"]["build-01"]
    # 1% over 16 vCPUs is under 1000 us: period and quota stretched by the same factor
    quota, period = result["guests"]["batch-01"]["vcpu_quota"], result["guests"]["batch-01"]["vcpu_period"]
    assert quota >= 1000 and period > 100000
    assert quota / period == pytest.approx(batch["vcpu_user_limit"] / 100 * cpus / batch["vcpu_count"])
    assert type(period) is float


def test_examples_io_tune(cli) -> None:
    _, guests = examples()
    result = evaluate(cli)
    [disk] = guests["db-01"]["io_tune"]
    assert result["io_tune"] == {"db-01": [{"name": disk["name"], "path": disk["path"], "ioTune": disk["maximum"]}]}


def test_io_tune_already_applied_sends_nothing(cli, tmp_path: Path) -> None:
    _, guests = examples()
    db = guests["db-01"]
    db["io_tune"][0]["current"] = dict(db["io_tune"][0]["maximum"])
    path = tmp_path / "db.json"
    path.write_text(json.dumps(db))
    run = cli("eval", "--host", HOST, "--guest", str(path), *POLICIES)
    assert run.status == 0
    assert json.loads(run.out)["io_tune"] == {"db-01": []}


def test_ours_and_vdsms_agree_on_the_examples(cli) -> None:
    assert evaluate(cli) == evaluate(cli, files=VDSM_POLICIES)
    on = ("--parameters", "(set balloonEnabled True)")
    assert evaluate(cli, *on) == evaluate(cli, *on, files=VDSM_POLICIES)


def test_the_shipped_set_by_name(cli) -> None:
    assert evaluate(cli, files=[DEFAULT_SET]) == evaluate(cli)


def test_parameters_replace_01_parameters(cli) -> None:
    """As vdsm's setNamedPolicy: with ballooning on, guests under pressure shrink."""
    _, guests = examples()
    result = evaluate(cli, "--parameters", "(set balloonEnabled True)\n(set ksmEnabled False)")
    shrunk = [n for n, c in result["guests"].items() if c.get("balloon_target", 1e30) < guests[n]["stats"][-1]["balloon_cur"]]
    assert len(shrunk) >= 4
    # KSM switched off with pages still merged: unmerge
    assert result["host"] == {"ksm_run": 2}


def test_files_are_evaluated_in_sorted_name_order(cli) -> None:
    assert evaluate(cli, files=list(reversed(POLICIES))) == evaluate(cli)


def test_guest_files_and_guests_object(cli, tmp_path: Path) -> None:
    _, guests = examples()
    paths = []
    for name in ("web-02", "win-01"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(guests[name]))
        paths += ["--guest", str(path)]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"guests": [guests["web-02"], guests["win-01"]]}))
    one = cli("eval", "--host", HOST, *paths, *POLICIES)
    other = cli("eval", "--host", HOST, "--guests", str(wrapped), *POLICIES)
    assert one.status == other.status == 0
    assert json.loads(one.out) == json.loads(other.out)
    assert list(json.loads(one.out)["guests"]) == ["web-02", "win-01"]


def test_verbose_shows_debug_output(cli) -> None:
    run = cli("eval", "-v", "--host", HOST, "--guests", GUESTS, *POLICIES)
    assert run.status == 0
    assert "mom.Evaluator: debug: ('no balloon or memory statistics, not ballooning'," in run.err


def test_evaluation_failure_is_placed_in_its_file(cli, tmp_path: Path) -> None:
    first = tmp_path / "10-first.policy"
    first.write_text("# first\n(defvar divisor 0)\n")
    second = tmp_path / "20-second.policy"
    second.write_text("(Host.Control \"ksm_run\" 1)\n\n(debug\n   (/ 1 divisor))\n")
    run = cli("eval", "--host", HOST, "--guests", GUESTS, str(second), str(first))
    assert run.status == 1
    result = json.loads(run.out)
    assert result["ok"] is False
    assert result["error"] == f"{second}:4:4: ZeroDivisionError: division by zero (in (/ 1 divisor))"
    assert result["host"] == {"ksm_run": 1}  # set before the failure, kept as upstream keeps it
    assert run.err == f"mom-policy: evaluation failed: {result['error']}\n"


def test_vdsm_guest_qos_fails_on_a_guest_without_balloon_info(cli, tmp_path: Path) -> None:
    """The failure upstream has too (golden edge case); our policies handle the guest."""
    _, guests = examples()
    guest = guests["web-01"]
    for sample in guest["stats"]:
        for key in ("balloon_cur", "balloon_max", "balloon_min"):
            del sample[key]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(guest))
    params = ("--parameters", "(set balloonEnabled True)")
    vdsm = cli("eval", "--host", HOST, "--guest", str(path), *params, *VDSM_POLICIES)
    assert vdsm.status == 1
    error = json.loads(vdsm.out)["error"]
    assert error.startswith(f"{VDSM_POLICIES[2]}:132:9: TypeError: '<' not supported between instances of 'NoneType'")
    ours = cli("eval", "--host", HOST, "--guest", str(path), *params, *POLICIES)
    assert ours.status == 0
    assert json.loads(ours.out)["guests"]["web-01"] == {"vcpu_quota": -1, "vcpu_period": 100000}


def test_parse_error_in_parameters(cli) -> None:
    run = cli("eval", "--host", HOST, "--guests", GUESTS, "--parameters", "(set balloonEnabled True", *POLICIES)
    assert run.status == 1
    assert run.out == ""
    assert run.err.splitlines() == [
        "--parameters:1:1: error: parse error: '(' opened at line 1, column 1 is never closed",
        "mom-policy: the policies do not load",
    ]


def test_parse_error_in_a_file(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.policy"
    bad.write_text("(defvar x 1)\n(defvar y (+ x 1)\n")
    run = cli("eval", "--host", HOST, "--guests", GUESTS, str(bad))
    assert run.status == 1
    assert run.err.splitlines()[0] == f"{bad}:2:1: error: parse error: '(' opened at line 2, column 1 is never closed"


def test_discarded_text_is_reported_per_file(cli, tmp_path: Path) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text("(Host.Control \"ksm_run\" 0)\n@ (Host.Control \"ksm_run\" 1)\n")
    run = cli("eval", "--host", HOST, "--guests", GUESTS, str(policy))
    assert run.status == 0
    assert json.loads(run.out)["host"] == {"ksm_run": 0}
    assert run.err.startswith(f"{policy}:2:1: warning: '@' is not part of the policy language")


def test_two_files_with_one_policy_name(cli, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for sub in ("a", "b"):
        (tmp_path / sub / "x.policy").write_text("0\n")
    run = cli("eval", "--host", HOST, "--guests", GUESTS, str(tmp_path / "a" / "x.policy"), str(tmp_path / "b" / "x.policy"))
    assert run.status == 1
    assert "policy name 'x' is also the name of" in run.err


@pytest.mark.parametrize(
    "path, name",
    [("/etc/vdsm/mom.d/01-parameters.policy", "01-parameters"), ("a.policy.policy", "a"), ("x.rules", "x.rules")],
)
def test_policy_name(path: str, name: str) -> None:
    assert policy_name(path) == name


BAD_INPUTS = [
    ("not-json", "{", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    ("not-object", "[1]", "host: expected an object with \"stats\", got a list"),
    ("no-stats", "{\"name\": \"h\"}", "host: \"stats\" is missing"),
    ("stats-string", "{\"stats\": \"x\"}", "host.stats: expected a list of samples or one sample object, got a string"),
    ("empty-stats", "{\"stats\": []}", "host.stats: no samples (give at least one)"),
    ("sample-not-object", "{\"stats\": [{}, 3]}", "host.stats[1]: expected an object, got a number"),
    ("value-not-number", "{\"stats\": {\"mem_free\": \"lots\"}}", "host.stats.mem_free: expected a number or null, got a string"),
    ("unknown-key", "{\"stat\": {}}", "host: unknown key 'stat' (expected name, properties, stats)"),
    ("properties", "{\"stats\": {}, \"properties\": 1}", "host.properties: expected an object, got a number"),
]


@pytest.mark.parametrize("text, message", [pytest.param(t, m, id=i) for i, t, m in BAD_INPUTS])
def test_bad_host(cli, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "host.json"
    path.write_text(text)
    run = cli("eval", "--host", str(path), "--guests", GUESTS, *POLICIES)
    assert run.status == 2
    assert run.out == ""
    assert run.err == f"mom-policy: {path}: {message}\n"


BAD_GUESTS = [
    ("not-list", "{\"x\": 1}", "expected a list of guests or {\"guests\": [...]}, got an object"),
    ("extra-key", "{\"guests\": [], \"x\": 1}", "unknown key 'x' (expected only \"guests\")"),
    ("no-name", "[{\"stats\": {}}]", "guests[0]: \"name\" is missing"),
    ("duplicate", "[{\"name\": \"a\", \"stats\": {}}, {\"name\": \"a\", \"stats\": {}}]", "guests[1]: guest name 'a' is used twice"),
    ("io-tune-shape", "[{\"name\": \"a\", \"stats\": {}, \"io_tune\": {}}]", "guests[0].io_tune: expected a list of disks or null, got an object"),
    ("io-tune-limit", "[{\"name\": \"a\", \"stats\": {}, \"io_tune\": [{\"maximum\": {\"total_bytes_sec\": \"1\"}}]}]",
     "guests[0].io_tune[0].maximum.total_bytes_sec: expected a number or null, got a string"),
]


@pytest.mark.parametrize("text, message", [pytest.param(t, m, id=i) for i, t, m in BAD_GUESTS])
def test_bad_guests(cli, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "guests.json"
    path.write_text(text)
    run = cli("eval", "--host", HOST, "--guests", str(path), *POLICIES)
    assert run.status == 2
    assert run.err.startswith(f"mom-policy: {path}: {message}")


def test_missing_inputs(cli, tmp_path: Path) -> None:
    assert cli("eval", "--host", str(tmp_path / "none.json"), *POLICIES).status == 2
    run = cli("eval", "--host", HOST, str(tmp_path / "none.policy"))
    assert run.status == 2 and "none.policy: cannot read: No such file or directory" in run.err
    assert cli("eval", "--guests", GUESTS, *POLICIES).status == 2  # --host is required
    assert cli("eval", "--host", HOST, "--guests", GUESTS, "--guest", GUESTS, *POLICIES).status == 2


def test_console_script_make_run() -> None:
    run = run_script("eval", "--host", HOST, "--guests", GUESTS, *POLICIES)
    assert run.status == 0, run.err
    assert json.loads(run.out)["ok"] is True


def test_policies_too_large_together_do_not_load(cli, tmp_path: Path) -> None:
    # each file reads on its own; only their concatenation passes the size limit
    half = "0\n" + "#" * (1 << 19) + "\n"
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.policy"
        path.write_text(half)
        paths.append(str(path))
    run = cli("eval", "--host", HOST, "--guests", GUESTS, *paths)
    assert run.status == 1
    assert run.err.splitlines() == [
        f"{paths[1]}: does not load: policy too large: {2 * len(half) + 1} characters (limit {1 << 20})",
        "mom-policy: the policies do not load",
    ]


def test_console_script_reports_store_problems_once(tmp_path: Path) -> None:
    """The store's own log lines (errors, discarded text) do not reach stderr."""
    policy = tmp_path / "p.policy"
    policy.write_text('(Host.Control "ksm_run" (/ 1 0))\n@ ignored\n')
    run = run_script("eval", "--host", HOST, "--guests", GUESTS, str(policy))
    assert run.status == 1
    error = json.loads(run.out)["error"]
    assert error == f"{policy}:1:25: ZeroDivisionError: division by zero (in (/ 1 0))"
    assert run.err.splitlines() == [
        f"{policy}:2:1: warning: '@' is not part of the policy language: MOM silently ignores everything "
        "from here on (1 line), and every policy loaded after this one",
        f"mom-policy: evaluation failed: {error}",
    ]
