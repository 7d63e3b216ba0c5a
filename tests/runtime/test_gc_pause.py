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


@pytest.fixture
def freezing():
    gc_pause.freeze_long_lived()
    yield
    gc_pause.freeze_long_lived(False)


def test_the_survivors_are_frozen_at_the_first_section_and_every_refreeze_after(monkeypatch, freezing):
    done = []
    monkeypatch.setattr(gc, "unfreeze", lambda: done.append("unfreeze"))
    monkeypatch.setattr(gc, "collect", lambda *args: done.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: done.append("freeze"))
    monkeypatch.setattr(gc_pause, "REFREEZE_SECTIONS", 3)
    ends = []
    for _section in range(7):
        with gc_paused():
            with gc_paused():  # a nested section's end is not a section's end
                pass
        ends.append(len(done))
    assert done == ["unfreeze", "collect", "freeze"] * 3
    assert ends == [3, 3, 3, 6, 6, 6, 9]  # sections 0, 3 and 6
    assert gc.isenabled()


def test_no_freezing_unless_asked_or_with_the_collector_off(monkeypatch):
    done = []
    monkeypatch.setattr(gc, "freeze", lambda: done.append("freeze"))
    with gc_paused():
        pass
    assert done == []
    gc_pause.freeze_long_lived()
    try:
        gc.disable()  # an embedding program's choice: nothing done behind its back
        with gc_paused():
            pass
        assert done == [] and not gc.isenabled()
    finally:
        gc_pause.freeze_long_lived(False)


def test_a_frozen_cycle_is_collected_at_the_next_refreeze_and_when_freezing_stops(monkeypatch, freezing):
    import weakref

    class Node:
        pass

    monkeypatch.setattr(gc_pause, "REFREEZE_SECTIONS", 2)
    for kept_until in ("refreeze", "stop"):
        gc_pause.freeze_long_lived(False)
        gc_pause.freeze_long_lived()  # turned on again: the next section's end refreezes
        node = Node()
        node.self = node  # a cycle
        gone = weakref.ref(node)
        with gc_paused():
            pass  # a refreeze: the cycle is alive, frozen
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert gone() is not None  # frozen: a collection does not see it
        if kept_until == "refreeze":
            with gc_paused():
                pass  # not a refreeze
            assert gone() is not None
            with gc_paused():
                pass  # the next refreeze collects it
        else:
            gc_pause.freeze_long_lived(False)
            gc.collect()
            gc_pause.freeze_long_lived()
        assert gone() is None
        assert gc.isenabled()


def test_a_frozen_cycle_is_collected_while_sections_overlap_for_good(monkeypatch, freezing):
    # one section always open (two threads taking turns): no section's end is at depth 0,
    # yet the collection a long pause runs refreezes, so a frozen cycle does not wait forever
    import weakref

    class Node:
        pass

    now = [0.0]
    monkeypatch.setattr(gc_pause, "_clock", lambda: now[0])
    with gc_paused():
        pass  # the first section's end: a refreeze
    node = Node()
    node.self = node
    gone = weakref.ref(node)
    with gc_paused():
        pass  # section 1: not a refreeze
    gc_pause.freeze_long_lived(False)
    gc_pause.freeze_long_lived()
    with gc_paused():
        pass  # turned on again: a refreeze, and the cycle is frozen
    del node
    gc.collect()
    assert gone() is not None  # frozen
    outer = gc_paused()
    outer.__enter__()
    try:
        for step in range(1, 12):
            now[0] = float(step)
            with gc_paused():
                pass
            if step < gc_pause.LONGEST_PAUSE:
                assert gone() is not None
        assert gone() is None  # the long pause's collection refroze: the cycle collected
    finally:
        outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_freezing_says_what_it_was_and_turning_it_on_again_changes_nothing(monkeypatch, freezing):
    done = []
    monkeypatch.setattr(gc, "unfreeze", lambda: done.append("unfreeze"))
    monkeypatch.setattr(gc, "collect", lambda *args: done.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: done.append("freeze"))
    with gc_paused():
        pass
    assert done == ["unfreeze", "collect", "freeze"]
    assert gc_pause.freeze_long_lived() is True  # a second user (another rig): already on
    with gc_paused():
        pass
    assert done == ["unfreeze", "collect", "freeze"]  # its count goes on: no refreeze forced
    assert gc_pause.freeze_long_lived(False) is True
    assert gc_pause.freeze_long_lived(False) is False
    assert done[-1] == "unfreeze"
    gc_pause.freeze_long_lived()
