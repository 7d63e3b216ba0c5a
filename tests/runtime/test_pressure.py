"""The PSI watcher wakes the policy engine between ticks: coalescing, the wake hook, and a real stall."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from mom.plugins import psi
from mom.plugins.psi import some_total
from mom.runtime.pressure import PressureWatcher, StallSampler
from mom.runtime.threads import PeriodicThread
from tests.helpers import wait_for
from tests.runtime.memory_stall import memory_stall, psi_trigger_problem


class FrozenClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def urgent_pair():
    """A TCP pair: urgent (out-of-band) data makes the receiving end signal POLLPRI, as a PSI trigger does."""
    server = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(server.getsockname())
    receiver, _ = server.accept()
    server.close()
    yield sender, receiver
    sender.close()
    receiver.close()


def test_a_burst_of_triggers_wakes_once_per_gap(urgent_pair):
    sender, receiver = urgent_pair
    clock = FrozenClock()
    wake, stop = threading.Event(), threading.Event()
    watcher = PressureWatcher(wake, stop, 150000, 2000000, clock=clock, sample_period=None)
    watcher.fd = receiver.detach()  # the watcher owns (and closes) the descriptor
    watcher.start()
    try:
        sender.send(b"!", socket.MSG_OOB)  # never read: POLLPRI stays up, a trigger firing on and on
        wait_for(lambda: watcher.triggers >= 20, 10, what="triggers")
        assert watcher.wakeups == 1  # the clock stands still: all of them within one gap
        clock.now += 1.0
        wait_for(lambda: watcher.wakeups == 2, 10, what="a second wake after the gap")
        seen = watcher.triggers
        wait_for(lambda: watcher.triggers >= seen + 5, 10, what="more triggers")
        assert watcher.wakeups == 2
    finally:
        stop.set()
        watcher.join(5)
    assert not watcher.is_alive() and wake.is_set()  # stopping wakes the engine too


def test_a_kernel_without_psi_is_reported_once_and_nothing_runs(tmp_path, caplog):
    watcher = PressureWatcher(threading.Event(), threading.Event(), 150000, 2000000, path=str(tmp_path / "none"))
    with caplog.at_level(logging.INFO, logger="mom"):
        assert watcher.arm() is False
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "keeps its intervals" in messages[0]
    watcher.run()  # returns at once: no descriptor


def test_wake_runs_one_extra_step_and_stop_ends_the_thread():
    stop, wake = threading.Event(), threading.Event()
    steps = []
    thread = PeriodicThread("T", 3600, stop, lambda: steps.append(1), wake=wake)
    thread.start()
    try:
        wake.set()
        wait_for(lambda: len(steps) == 1, 10, what="an early step")
        assert thread.early_steps == 1 and not wake.is_set()
        wake.set()
        wait_for(lambda: len(steps) == 2, 10, what="another early step")
    finally:
        stop.set()
        wake.set()  # as the watcher does when it sees stop
        thread.join(5)
    assert not thread.is_alive() and len(steps) == 2


def test_the_sampler_sees_a_stall_of_the_threshold_within_the_window():
    sampler = StallSampler(150000, 2000000)
    assert not sampler.observe(0.0, 1000)
    assert not sampler.observe(1.0, 1000 + 149999)  # just under
    assert sampler.observe(1.1, 1000 + 150000)
    # it counts again from there: the same stall is not seen twice
    assert not sampler.observe(1.2, 1000 + 150001)
    # growth spread over more than the window is not a stall of the threshold
    assert not sampler.observe(2.2, 1000 + 250000)
    assert not sampler.observe(4.3, 1000 + 349000)
    assert sampler.observe(4.4, 1000 + 499000)  # 150000 since the 4.3 reading


def test_a_stall_in_the_total_wakes_the_engine_without_the_kernels_trigger(urgent_pair, tmp_path):
    # the kernel's trigger fires late on some kernels: the watcher reads the total too
    _sender, receiver = urgent_pair  # nothing is sent: the "trigger" never fires
    pressure = tmp_path / "memory"
    line = "some avg10=0.00 avg60=0.00 avg300=0.00 total={}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"

    def write(total):  # in place, one write of the same length: the watcher keeps the file open
        with open(pressure, "r+b" if pressure.exists() else "wb") as handle:
            handle.write(line.format(f"{total:010d}").encode())

    write(5000)
    wake, stop = threading.Event(), threading.Event()
    watcher = PressureWatcher(wake, stop, 150000, 2000000, path=str(pressure))
    watcher.fd = receiver.detach()
    watcher.start()
    try:
        wait_for(lambda: watcher.readings >= 2, 5, what="the watcher reading the total")
        assert not wake.is_set()
        write(5000 + 200000)
        wait_for(wake.is_set, 10, what="the engine woken by the stall total")
        assert (watcher.triggers, watcher.sampled, watcher.wakeups) == (0, 1, 1)
    finally:
        stop.set()
        watcher.join(5)


_PROBLEM = psi_trigger_problem()


@pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or "")
def test_a_real_memory_stall_wakes_the_engine_before_its_interval(tmp_path):
    interval = 120.0  # far longer than the test may take: a step means the trigger woke it
    stop, wake = threading.Event(), threading.Event()
    steps = []
    engine = PeriodicThread("PolicyEngine", interval, stop, lambda: steps.append(1), wake=wake)
    watcher = PressureWatcher(wake, stop, 150000, 2000000)
    assert watcher.arm()
    engine.start()
    watcher.start()
    try:
        with memory_stall(str(tmp_path), seconds=30):
            wait_for(lambda: steps, 30, what="the engine woken by the PSI trigger")
    finally:
        stop.set()
        watcher.join(5)
        engine.join(5)
    assert watcher.triggers + watcher.sampled >= 1 and engine.early_steps >= 1
    assert not watcher.is_alive() and not engine.is_alive()


_PSI_LINES = "some avg10=0.00 avg60=0.00 avg300=0.00 total={}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"


def test_some_total_parses_the_some_lines_total_only():
    assert some_total(_PSI_LINES.format(123456).encode()) == 123456
    assert some_total(b"full avg10=0.00 total=9\nsome avg10=1.50 avg60=0.00 avg300=0.00 total=42\n") == 42
    for text in (b"", b"full avg10=0.00 total=9\n", b"some avg10=0.00\n", b"some total=x\n", b"some avg10=0.00 total=\n", b"some total="):
        with pytest.raises(ValueError):
            some_total(text)


def test_the_watcher_opens_the_total_once_and_rereads_it(urgent_pair, tmp_path, monkeypatch):
    _sender, receiver = urgent_pair
    pressure = tmp_path / "memory"
    pressure.write_text(_PSI_LINES.format(f"{5000:010d}"))
    opened = []
    real_open = psi.os.open
    monkeypatch.setattr(psi.os, "open", lambda path, *args: opened.append(path) or real_open(path, *args))
    wake, stop = threading.Event(), threading.Event()
    watcher = PressureWatcher(wake, stop, 150000, 2000000, path=str(pressure))
    watcher.fd = receiver.detach()
    watcher.start()
    try:
        wait_for(lambda: watcher.readings >= 3, 5, what="readings of the total")
        with open(pressure, "r+b") as handle:  # the same file changing, as the kernel's does
            handle.write(_PSI_LINES.format(f"{205000:010d}").encode())
        wait_for(wake.is_set, 10, what="the engine woken by the stall total")
        assert [path for path in opened if path == str(pressure)] == [str(pressure)] and watcher.sampled == 1
    finally:
        stop.set()
        watcher.join(5)
    assert watcher.total_fd is None  # closed with the trigger


def test_a_total_that_cannot_be_read_leaves_the_trigger_alone(urgent_pair, tmp_path, caplog, monkeypatch):
    sender, receiver = urgent_pair
    pressure = tmp_path / "memory"
    pressure.write_text(_PSI_LINES.format(5000))
    failures = []

    def failing_pread(fd, size, offset):
        failures.append(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(psi.os, "pread", failing_pread)
    clock = FrozenClock()
    wake, stop = threading.Event(), threading.Event()
    watcher = PressureWatcher(wake, stop, 150000, 2000000, path=str(pressure), clock=clock, sample_period=0.01)
    watcher.fd = receiver.detach()
    with caplog.at_level(logging.DEBUG, logger="mom"):
        watcher.start()
        try:
            sender.send(b"!", socket.MSG_OOB)
            wait_for(lambda: watcher.wakeups == 1, 10, what="the kernel's trigger waking the engine")
            clock.now += 5.0
            wait_for(lambda: watcher.triggers >= 50, 10, what="more triggers")
        finally:
            stop.set()
            watcher.join(5)
    assert len(failures) == 1 and watcher.readings == 0  # tried once, then the trigger only
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    assert watcher.wakeups == 2 and not watcher.is_alive()


def test_a_vanished_total_file_leaves_the_trigger_alone(urgent_pair, tmp_path):
    sender, receiver = urgent_pair
    wake, stop = threading.Event(), threading.Event()
    watcher = PressureWatcher(wake, stop, 150000, 2000000, path=str(tmp_path / "gone"))
    watcher.fd = receiver.detach()
    watcher.start()
    try:
        sender.send(b"!", socket.MSG_OOB)
        wait_for(wake.is_set, 10, what="the kernel's trigger waking the engine")
    finally:
        stop.set()
        watcher.join(5)
    assert watcher.readings == 0 and watcher.triggers >= 1 and watcher.total_fd is None
