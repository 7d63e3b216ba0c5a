"""Lifecycle actions on the simulator: the real Lifecycle controller against the sim interface.

Power-off gives the host the guest's memory back, a restore takes it again, a migration
frees it for good and fills the peer; the gates hold on the simulated clock (one
power-off per interval, one migration at a time, platinum and gold never touched, even
by a hostile policy); ``momctl actions`` reads the audit of a simulated daemon.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from mom.sim.lifecycle import MIGRATED, OFF, RUNNING
from mom.sim.model import SimHost
from mom.sim.runner import Simulation, build_config
from mom.sim.scenario import ScenarioError, load_scenario, parse_scenario
from mom.sim.summary import summarize
from tests.sim.conftest import scenario_data

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SHIPPED = os.path.join(ROOT, "scenarios", "lifecycle-host.toml")

HOSTILE = """
(with Guests guest {
    (guest.Control "power" "off")
    (guest.Control "migrate" 1)
})
"""


def lifecycle_data(policy: str, duration: float = 1200, peers=None, interval: int = 60):
    data = scenario_data(duration=duration)
    data["daemon"].update(
        {
            "controllers": ["Balloon", "KSM", "CpuTune", "IoTune", "Lifecycle"],
            "guest-collectors": [
                "GuestMemoryOptional",
                "GuestBalloonOptional",
                "GuestCpuTune",
                "GuestIoTuneOptional",
                "GuestSla",
            ],
            "policies": {"08-lifecycle": policy},
            "lifecycle": {"lifecycle-actions": "on", "power-off-interval": interval, "restore-after": 120},
        }
    )
    data["group"][0]["sla-class"] = "platinum"
    data["group"][1]["sla-class"] = "gold"
    data["group"].append({"name": "scratch", "count": 6, "memory": "1G", "min-memory": "256M", "sla-class": "vapor"})
    data["group"].append({"name": "spare", "count": 4, "memory": "1G", "min-memory": "256M", "sla-class": "standard"})
    if peers is not None:
        data["peers"] = peers
    return data


def run(data):
    simulation = Simulation(parse_scenario(data, "lifecycle.toml"))
    result = simulation.run()
    assert not result.errors, result.error_samples
    return simulation, result


def calls(simulation, *methods):
    return [(t, index) for t, method, index, _ in simulation.parts.hypervisor_iface.actions if method in methods]


def group_of(host, index):
    return host.group_names[int(host.group_index[index])]


# ## The model


def test_power_off_frees_the_guests_memory_and_a_start_takes_it_again(small):
    host = SimHost(small)
    for _ in range(30):
        host.step()
    index = 3
    touched, overhead = int(host.host.touched[index]), small.host.guest_overhead
    assert touched > 0
    free, swap = host.host.free, host.host.swap_used
    host.power.power_off(host, index)
    host.check()
    assert host.host.touched[index] == 0
    # every resident page and QEMU's own memory are free again (swapped ones leave the swap)
    assert host.host.free - free == touched - (swap - host.host.swap_used) + overhead
    for _ in range(30):
        host.step()
        host.check()
    assert host.host.touched[index] == 0 and host.demand[index] == 0  # off: it wants and holds nothing
    host.power.start(host, index)
    host.check()
    assert host.balloons.actual[index] == host.balloons.maximum[index]
    for _ in range(30):
        host.step()
        host.check()
    assert host.host.touched[index] > 0  # it boots and touches memory again
    assert list(host.power.powered_off[[index]]) == [1] and list(host.power.restored[[index]]) == [1]


def test_migration_frees_the_memory_for_good_and_fills_the_peer(small):
    scenario = small.replace(peers=(("sim://b", 4 * 1024**2),))
    host = SimHost(scenario)
    for _ in range(10):
        host.step()
    free = host.host.free
    host.power.migrate(host, 0, "sim://b")
    host.check()
    assert host.host.free > free
    assert host.power.peer_free["sim://b"] == 4 * 1024**2 - int(host.balloons.maximum[0])
    assert host.power.state[0] == MIGRATED


def test_the_scenario_keys_are_checked():
    data = lifecycle_data(HOSTILE, peers={"sim://b": "lots"})
    with pytest.raises(ScenarioError, match=r"peers.sim://b = 'lots': expected a size"):
        parse_scenario(data, "bad.toml")
    data = lifecycle_data(HOSTILE)
    data["group"][0]["sla-class"] = "no such!"
    with pytest.raises(ScenarioError, match=r"group\[0\].sla-class"):
        parse_scenario(data, "bad.toml")
    data = lifecycle_data(HOSTILE)
    data["daemon"]["lifecycle"]["power-off-interval"] = "soon"
    with pytest.raises(Exception, match="power-off-interval"):
        Simulation(parse_scenario(data, "bad.toml"))


def test_the_daemon_gets_the_classes_lifecycle_and_peers():
    config = build_config(parse_scenario(lifecycle_data(HOSTILE, peers={"sim://b": "2G", "sim://c": "1G"}), "x.toml"))
    assert "scratch-[0-9]* class=vapor" in config.get("sla", "rules")
    assert config.get("lifecycle", "lifecycle-actions") == "on"
    assert config.get("migration", "peers") == "sim://b, sim://c"
    assert config.get("main", "state-file") == ""


# ## The controller on the simulated host


@pytest.fixture(scope="module")
def shipped_run():
    simulation = Simulation(load_scenario(SHIPPED))
    result = simulation.run()
    assert not result.errors, result.error_samples
    return simulation, result


def test_vapor_guests_are_powered_off_under_pressure_one_per_interval_and_restored(shipped_run):
    simulation, result = shipped_run
    host = result.host
    offs = calls(simulation, "shutdownVm", "destroyVm", "managedSaveVm")
    restores = calls(simulation, "startVm")
    assert offs and restores
    assert {group_of(host, i) for _, i in offs} == {"scratch"}  # vapor only
    # one power-off per interval (60 s), and a restore counts in the same interval
    times = sorted(t for t, _ in offs + restores)
    assert min(np.diff(times)) >= 60
    # restored only once the load eased (t >= 1500 s), after memory stayed plentiful 120 s
    assert min(t for t, _ in restores) >= 1500 + 120
    # each restore was of a guest momd had stopped itself
    stopped = {i for _, i in offs}
    assert {i for _, i in restores} <= stopped
    summary = summarize(result)
    assert summary["vapor_power_offs"] == len(offs) and summary["restores"] == len(restores)
    by_group = {g["group"]: g for g in summary["groups"]}
    assert by_group["scratch"]["powered_off"] == len(offs)
    assert by_group["scratch"]["restored"] == len(restores)
    for name in ("db", "app"):
        assert by_group[name]["powered_off"] == by_group[name]["migrated"] == 0
    # the model's own record agrees with the calls, and with what runs at the end
    assert int((host.power.state == OFF).sum()) == len(offs) - len(restores)
    assert summary["lifecycle_audit"]["power-off done"] == len(offs)


def test_the_recording_follows_the_guests_off(shipped_run):
    simulation, result = shipped_run
    recording = result.recording
    times, off = recording.times(), recording.series("guests_off")
    changes = sorted(
        [(t, 1) for t, _ in calls(simulation, "shutdownVm")] + [(t, -1) for t, _ in calls(simulation, "startVm")]
    )
    for t, step in changes:
        at = int(np.searchsorted(times, t))  # the tick the policy ran in: recorded after it
        assert off[at] - off[at - 1] == step
    assert off[-1] == sum(step for _, step in changes)
    assert sum(recording.actions["power_off"]) == len(calls(simulation, "shutdownVm"))
    assert sum(recording.actions["restore"]) == len(calls(simulation, "startVm"))


def test_standard_guests_migrate_to_a_peer_that_fits(shipped_run):
    simulation, result = shipped_run
    host = result.host
    migrations = calls(simulation, "migrateVm")
    assert migrations
    assert {group_of(host, i) for _, i in migrations} == {"web"}
    # one at a time: never two in one policy cycle
    times = [t for t, _ in migrations]
    assert len(set(times)) == len(times)
    for _, index in migrations:
        assert host.power.state[index] == MIGRATED and host.host.touched[index] == 0
    summary = summarize(result)
    assert summary["migrations"] == len(migrations)
    # the peers got 3 + 1 GiB of 1 GiB guests: full, and never over
    assert len(migrations) == 4
    assert summary["peers_free_gib"] == {"qemu+ssh://host2/system": 0.0, "qemu+ssh://host3/system": 0.0}
    # afterwards the peers are full: the controller's asks fail with the peers' answers
    assert summary["lifecycle_audit"]["migrate failed"] > 0


def test_a_hostile_policy_never_touches_platinum_or_gold_and_keeps_the_limits():
    simulation, result = run(lifecycle_data(HOSTILE, duration=900, peers={"sim://b": "64G"}))
    host = result.host
    offs = calls(simulation, "shutdownVm", "destroyVm", "managedSaveVm")
    migrations = calls(simulation, "migrateVm")
    touched = {group_of(host, i) for _, i in offs + migrations}
    assert touched and not touched & {"web", "batch"}  # platinum and gold
    assert {group_of(host, i) for _, i in offs} <= {"scratch"}
    power_times = sorted(t for t, _ in offs)
    assert len(power_times) >= 2 and min(np.diff(power_times)) >= 60
    migration_times = [t for t, _ in migrations]
    assert len(migration_times) >= 2 and len(set(migration_times)) == len(migration_times)
    for name in ("web", "batch"):
        mask = host.group_index == host.group_names.index(name)
        assert (host.power.state[mask] == RUNNING).all()
    audit = result.lifecycle
    assert audit["power-off refused"] > 0 and audit["migrate refused"] > 0


def test_momctl_actions_on_a_simulated_daemon(tmp_path):
    sock = str(tmp_path / "momd.sock")
    simulation = Simulation(parse_scenario(lifecycle_data(HOSTILE, duration=1800), "rpc.toml"), pace=20, rpc_port=sock)
    done = threading.Event()
    outcome = {}

    def go():
        try:
            outcome["result"] = simulation.run()
        finally:
            done.set()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    found = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done.is_set():
        if os.path.exists(sock):
            answer = subprocess.run(
                [sys.executable, "-m", "mom.cli.momctl", "-s", sock, "actions", "-n", "100"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if answer.returncode == 0 and "power-off (shutdown)  done" in answer.stdout:
                found = answer.stdout
                break
        time.sleep(0.5)
    thread.join(120)
    assert found, "momctl actions never showed a power-off"
    assert "lifecycle-actions: on" in found
    assert "refused: class platinum is never powered off or migrated" in found
    assert "scratch-" in found
