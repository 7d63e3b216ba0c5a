"""Reaction time to a memory stall: from a real stall starting to the balloon calls issued.

The daemon's policy engine (its own thread, woken by :class:`mom.runtime.pressure.PressureWatcher`
through a PSI trigger on this machine's /proc/pressure/memory, ``pressure-stall-us`` 150 ms
(the default) or 50 ms within a 2 s window) runs on libvirt's test driver (:class:`tests.helpers.LibvirtTickRig`'s
objects, 10 guests) at vdsm's interval of 15 s, with a policy that sets every guest's
balloon target.  One round: a child process starts reading a file through a 32 MiB memory
cgroup (tests/runtime/memory_stall.py: a real, local stall), and the round ends when the
Balloon controller issues its first ``setVmBalloonTarget`` of a cycle the trigger woke.
Without the trigger the same calls wait for the next interval: up to 15 s, 7.5 s on average.

Run with ``pytest bench/bench_pressure_reaction.py --benchmark-only`` (root, a kernel with PSI).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time

import pytest

from mom.runtime.engine import PolicyEngine
from mom.runtime.pressure import PressureWatcher
from tests.helpers import LibvirtTickRig
from tests.runtime import memory_stall

INTERVAL = 15  # vdsm's policy-engine interval, seconds
POLICY = '(with Guests guest (guest.Control "balloon_target" guest.balloon_cur))'
_PROBLEM = memory_stall.psi_trigger_problem()


class Recorder:
    """The libvirt interface, noting the first balloon call of each woken cycle."""

    def __init__(self, iface, engine_thread):  # type: ignore[no-untyped-def]
        self.iface = iface
        self.thread = engine_thread
        self.woken_call = threading.Event()
        self.after_early_steps = 0

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.iface, name)

    def setVmBalloonTarget(self, uuid, target):  # type: ignore[no-untyped-def]
        if self.thread is not None and self.thread.early_steps > self.after_early_steps:
            self.woken_call.set()
        return self.iface.setVmBalloonTarget(uuid, target)


def _child(directory: str) -> subprocess.Popen[bytes]:
    """The stalling reader, waiting for a line on stdin before it starts (not yet stalling)."""
    root = memory_stall.memory_cgroup_root()
    assert root is not None
    base, limit_file = root
    cgroup = os.path.join(base, f"mom-bench-stall-{os.getpid()}")
    os.makedirs(cgroup, exist_ok=True)
    with open(os.path.join(cgroup, limit_file), "w", encoding="ascii") as handle:
        handle.write(str(memory_stall.LIMIT))
    path = memory_stall.stall_file(directory)
    reader = "import sys; sys.stdin.readline()\n" + memory_stall.READER
    return subprocess.Popen(
        [sys.executable, "-c", reader, cgroup, path, "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )


@pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or "")
@pytest.mark.parametrize("stall_us", [50000, 150000])
def test_pressure_reaction(benchmark, impl, tmp_path, stall_us):  # type: ignore[no-untyped-def]
    rig = LibvirtTickRig(str(tmp_path), 10, implementation=impl)
    stop, wake = threading.Event(), threading.Event()
    settings = dataclasses.replace(rig.engine.settings, policy_engine_interval=INTERVAL)
    recorder = Recorder(rig.iface, None)
    engine = PolicyEngine(rig.engine.config, recorder, rig.host_monitor, rig.guest_manager, settings, stop, wake=wake)
    engine.policy = rig.engine.policy
    assert engine.rpc_set_policy(POLICY)
    recorder.thread = engine.thread
    rig.guest_manager.collect_guests()
    watcher = PressureWatcher(wake, stop, stall_us, settings.pressure_window_us)
    assert watcher.arm()
    children: list[subprocess.Popen[bytes]] = []

    def setup():  # type: ignore[no-untyped-def]
        for child in children:
            child.kill()
            child.wait()
        children.clear()
        time.sleep(2.5)  # one quiet trigger window: no stall carried over
        recorder.after_early_steps = engine.thread.early_steps
        recorder.woken_call.clear()
        children.append(_child(str(tmp_path)))
        return (children[-1],), {}

    def stall_until_balloon_calls(child):  # type: ignore[no-untyped-def]
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(b"go\n")
        child.stdin.flush()
        child.stdout.readline()  # "reading": the stall starts
        assert recorder.woken_call.wait(INTERVAL), "no balloon call from a woken cycle"

    engine.start()
    watcher.start()
    try:
        benchmark.group = f"pressure-reaction[stall {stall_us // 1000} ms / 2 s]"
        benchmark.extra_info["interval_s"] = INTERVAL
        benchmark.pedantic(stall_until_balloon_calls, setup=setup, rounds=3, iterations=1)
        benchmark.extra_info["triggers"] = watcher.triggers
        benchmark.extra_info["early_cycles"] = engine.thread.early_steps
    finally:
        for child in children:
            child.kill()
            child.wait()
        stop.set()
        watcher.join(5)
        engine.join(5)
        rig.close()
        root = memory_stall.memory_cgroup_root()
        if root is not None:
            cgroup = os.path.join(root[0], f"mom-bench-stall-{os.getpid()}")
            for _ in range(50):
                try:
                    os.rmdir(cgroup)
                    break
                except OSError:
                    time.sleep(0.1)
