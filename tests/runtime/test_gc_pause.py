"""The cyclic collector paused for a tick's burst: enabled again after, nested and
across threads; left off if it was off."""

from __future__ import annotations

import gc
import threading

import pytest

from mom.runtime import gc_pause
from mom.runtime.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def collector_enabled():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_after():
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer section still runs
    assert gc.isenabled()


def test_an_error_inside_enables_it_again():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a tick failed")
    assert gc.isenabled()


def test_a_collector_turned_off_stays_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_it_is_on_again_only_when_the_last_threads_section_ends():
    inside, release = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread's section still runs
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_tick_runs_with_the_collector_paused(tmp_path):
    from tests.helpers import LibvirtTickRig

    rig = LibvirtTickRig(str(tmp_path), 2)
    seen = []
    try:
        real = rig.engine.policy.evaluate
        rig.engine.policy.evaluate = lambda host, guests: (seen.append(gc.isenabled()), real(host, guests))[1]
        collect = rig.iface.prefetch
        rig.iface.prefetch = lambda: (seen.append(gc.isenabled()), collect())[1]
        rig.tick()
        assert seen == [False, False] and gc.isenabled()
    finally:
        rig.close()


def test_overlapping_sections_do_not_keep_the_collector_off_for_good(monkeypatch):
    # two threads take turns so that one section is always open: the depth never reaches
    # 0, yet once the pause has lasted LONGEST_PAUSE a section's end collects the cycles
    now = [0.0]
    monkeypatch.setattr(gc_pause, "_clock", lambda: now[0])
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(now[0]) or 0)
    outer = gc_paused()
    outer.__enter__()
    for step in range(1, 30):
        now[0] = float(step)
        with gc_paused():  # the other thread's section, ending while the outer one runs
            pass
        assert not gc.isenabled()
    outer.__exit__(None, None, None)
    assert gc.isenabled()
    assert collected == [10.0, 20.0]  # once per LONGEST_PAUSE, the clock started again
