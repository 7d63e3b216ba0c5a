"""Batched collection rounds (mom.runtime.batch, SampleTable.append_columns): the same
samples as guest by guest, on libvirt's test driver and on a table of its own."""

from __future__ import annotations

import copy
import operator
import random
import types

import pytest

import mom.runtime.guest_manager as guest_manager_module
from mom.dsl.layout import TAG_OBJECT
from mom.dsl.sandbox import MISSING
from mom.plugins.collectors.base import Collector
from mom.runtime.table import SampleTable
from tests.helpers import LATE_DOMAIN_XML as NEW_DOMAIN
from tests.helpers import LibvirtTickRig


class Opaque:
    """A value the table keeps aside (an object cell)."""

    def __init__(self, tag):
        self.tag = tag

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.tag == self.tag

    __hash__ = None


def random_value(rng):
    return rng.choice(
        [
            lambda: rng.randint(-(10**6), 10**6),
            lambda: rng.random() * 1e9,
            lambda: None,
            lambda: rng.random() < 0.5,
            lambda: 1 << 70,  # past int64: an object cell
            lambda: f"text-{rng.randint(0, 9)}",
            lambda: Opaque(rng.randint(0, 9)),
            lambda: MISSING,
        ]
    )()


@pytest.mark.parametrize("seed", range(5))
def test_append_columns_stores_what_append_stores(seed):
    rng = random.Random(seed)
    fields = [f"f{index}" for index in range(7)]
    by_row, by_column = SampleTable(history=3), SampleTable(history=3)
    rows = [by_row.add_row(f"g{index}") for index in range(7)]
    assert rows == [by_column.add_row(f"g{index}") for index in range(7)]
    for _round in range(5):  # past the ring's length: the oldest objects are freed
        # some fields all one type (the vectorised encodings), some mixed
        columns = {
            "f0": [rng.randint(0, 10**12) for _ in rows],
            "f1": [rng.random() for _ in rows],
            **{name: [random_value(rng) for _ in rows] for name in fields[2:6]},
            "f6": [Opaque(rng.randint(0, 9)) for _ in rows],  # every value kept aside
        }
        for position, row in enumerate(rows):
            by_row.append(row, {name: values[position] for name, values in columns.items() if values[position] is not MISSING})
        by_column.append_columns(rows, columns)
        for row in rows:
            assert [by_column.sample(row, slot) for slot in by_column.slots(row)] == [
                by_row.sample(row, slot) for slot in by_row.slots(row)
            ]
            for name in fields:
                assert by_column.history_of(row, name) == by_row.history_of(row, name)
    live = [value for value in by_column.objects if value is not None]
    assert len(live) == len([value for value in by_row.objects if value is not None])


def test_append_columns_refuses_a_column_of_the_wrong_length():
    table = SampleTable(["a"])
    rows = [table.add_row("x"), table.add_row("y")]
    with pytest.raises(ValueError, match="column 'a' has 1 values for 2 rows"):
        table.append_columns(rows, {"a": [1]})


def comparable(sample):
    """A sample with its IO-tune records as what the controller would send."""
    result = dict(sample)
    if result.get("io_tune"):
        result["io_tune"] = [tune.ioTune() for tune in result["io_tune"]]
    return result


def samples_by_name(manager):
    table = manager.table
    return {
        monitor.name: [comparable(table.sample(monitor.row, slot)) for slot in table.slots(monitor.row)]
        for monitor in manager.guests.values()
    }


@pytest.fixture
def batched_rounds(monkeypatch):
    """Whether each round was batched."""
    outcomes = []
    real = guest_manager_module.collect_batched

    def recording(monitors, *rounds):
        outcomes.append(real(monitors, *rounds))
        return outcomes[-1]

    monkeypatch.setattr(guest_manager_module, "collect_batched", recording)
    return outcomes


def test_a_batched_round_stores_what_guest_by_guest_rounds_store(tmp_path, batched_rounds):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    batched = LibvirtTickRig(str(tmp_path / "a"), 4)
    one_by_one = LibvirtTickRig(str(tmp_path / "b"), 4)
    one_by_one.guest_manager.batched = False
    try:
        for _ in range(3):  # collection only: the policy would act on the host's live memory
            batched.guest_manager.collect_guests()
            one_by_one.guest_manager.collect_guests()
        assert batched_rounds == [True, True, True]
        got, want = samples_by_name(batched.guest_manager), samples_by_name(one_by_one.guest_manager)
        assert len(got) == 4 and all(len(samples) == 3 for samples in got.values())
        # the domains' UUIDs differ between the hosts; every sampled value is the same
        assert got == want
    finally:
        batched.close()
        one_by_one.close()


def test_a_guest_added_removed_and_changed_between_two_batched_rounds(tmp_path, batched_rounds):
    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        manager = rig.guest_manager
        manager.collect_guests()  # collection only: the policy would balloon by the host's memory
        conn = rig.iface.conn
        conn.lookupByName("vm0001").destroy()  # removed
        conn.lookupByName("vm0002").setMemory(1024 * 1024)  # changed: ballooned to 1 GiB
        conn.createXML(NEW_DOMAIN, 0)  # added
        manager.update_guests()
        manager.collect_guests()
        assert batched_rounds == [True, True]
        samples = samples_by_name(manager)
        assert sorted(samples) == ["late", "vm0000", "vm0002"]
        assert len(samples["late"]) == 1 and len(samples["vm0000"]) == 2 and len(samples["vm0002"]) == 2
        assert [sample["balloon_cur"] for sample in samples["vm0002"]] == [2 * 1024 * 1024, 1024 * 1024]
        assert samples["vm0000"][0]["balloon_cur"] == samples["vm0000"][1]["balloon_cur"] == 2 * 1024 * 1024
        assert samples["late"][0]["balloon_cur"] == 512 * 1024
        assert samples["late"][0]["balloon_max"] == 1024 * 1024
        # the disk-less newcomer has no IO-tune data; the others keep theirs
        assert samples["late"][0]["io_tune"] is None and samples["vm0000"][1]["io_tune"]
        names = {manager.table.names[int(row)] for row in manager.guest_set().rows}
        assert names == {"late", "vm0000", "vm0002"}
        assert rig.engine.do_controls()  # and a policy cycle runs on them
    finally:
        rig.close()


class UpstreamStyle(Collector):
    """A site collector as upstream's: not batchable."""

    fields = frozenset({"site_value"})

    def collect(self):
        return {"site_value": 7}


def test_an_upstream_style_collector_is_collected_guest_by_guest(tmp_path, batched_rounds, monkeypatch):
    from mom.plugins import registry

    real_load = registry.load

    def load(kind, name):
        if kind == "collector" and name == "UpstreamStyle":
            return UpstreamStyle
        return real_load(kind, name)

    monkeypatch.setattr(registry, "load", load)
    monkeypatch.setattr(LibvirtTickRig, "GUEST_COLLECTORS", LibvirtTickRig.GUEST_COLLECTORS + ", UpstreamStyle")
    rig = LibvirtTickRig(str(tmp_path), 2)
    try:
        assert rig.tick()
        assert batched_rounds == [False]
        assert all(samples[-1]["site_value"] == 7 for samples in samples_by_name(rig.guest_manager).values())
    finally:
        rig.close()


class RecordingIface:
    def __init__(self):
        self.calls = []

    def setVmBalloonTarget(self, uuid, target):
        self.calls.append((uuid, target))


def balloon_rows(names):
    table = SampleTable(["balloon_cur", "balloon_max", "balloon_min", "mem_unused"])
    rows = []
    for name in names:
        row = table.add_row(name, {"name": name, "uuid": f"uuid-{name}"})
        table.append(row, {"balloon_cur": 2 << 20, "balloon_max": 4 << 20, "balloon_min": 0, "mem_unused": 1 << 20})
        rows.append(row)
    return table, rows


def test_the_balloon_controller_visits_rows_with_a_target_or_a_watched_balloon():
    """On the daemon's rows the controller picks its guests from the control column; a
    guest whose balloon it still watches (a push not yet reached) is followed without a
    target, and the others are only noted (they stay known: a watch is not forgotten)."""
    from mom.plugins.controllers.balloon import Balloon
    from mom.runtime.table import GuestSet

    iface = RecordingIface()
    controller = Balloon({"hypervisor_iface": iface})
    table, rows = balloon_rows(["a", "b", "c"])
    table.set_control(rows[0], "balloon_target", 3 << 20)
    controller.process(None, GuestSet(table, rows))
    assert [uuid for uuid, _target in iface.calls] == ["uuid-a"]  # (the step capped by the floors)
    assert controller.stuck_tracker.watching("uuid-a")
    assert controller._names == {"uuid-a": "a", "uuid-b": "b", "uuid-c": "c"}
    visited = []
    real = controller.process_guest
    controller.process_guest = lambda guest, uuid, now: (visited.append(uuid), real(guest, uuid, now))
    table.clear_controls()
    table.set_control(rows[2], "balloon_target", 3 << 20)
    controller.process(None, GuestSet(table, rows))
    assert sorted(visited) == ["uuid-a", "uuid-c"]  # a: watched, c: a target; b: noted only
    assert controller.stuck_tracker.watching("uuid-a")  # still watched: b's round did not forget it
    assert controller._names == {"uuid-a": "a", "uuid-b": "b", "uuid-c": "c"}
    controller.process(None, GuestSet(table, rows[1:]))  # a is gone
    assert not controller.stuck_tracker.watching("uuid-a") and "uuid-a" not in controller._names


def test_the_balloon_controller_sees_a_row_given_to_another_guest():
    """The guests' uuids and names read from the rows are kept between cycles: a row
    freed and given to a new guest, or another table with the same rows, is read again
    in the very next cycle."""
    from mom.plugins.controllers.balloon import Balloon
    from mom.runtime.table import GuestSet

    iface = RecordingIface()
    controller = Balloon({"hypervisor_iface": iface})
    table, rows = balloon_rows(["a", "b"])
    controller.process(None, GuestSet(table, rows))
    assert controller._names == {"uuid-a": "a", "uuid-b": "b"}
    table.remove_row(rows[1])
    reused = table.add_row("n", {"name": "n", "uuid": "uuid-n"})
    assert reused == rows[1]  # the same rows: only the guest in one changed
    table.append(reused, {"balloon_cur": 2 << 20, "balloon_max": 4 << 20, "balloon_min": 0, "mem_unused": 1 << 20})
    table.set_control(reused, "balloon_target", 3 << 20)
    controller.process(None, GuestSet(table, rows))
    assert controller._names == {"uuid-a": "a", "uuid-n": "n"}
    assert [uuid for uuid, _target in iface.calls] == ["uuid-n"]
    other, other_rows = balloon_rows(["x", "y"])
    assert other_rows == rows
    other.set_control(other_rows[0], "balloon_target", 3 << 20)
    controller.process(None, GuestSet(other, other_rows))
    assert controller._names == {"uuid-x": "x", "uuid-y": "y"}
    assert [uuid for uuid, _target in iface.calls] == ["uuid-n", "uuid-x"]


def fast_columns(config):
    """The compiled column encoder (skipped as the fast path's tests are)."""
    from tests.implementations import load_implementation

    load_implementation("cython", config)
    from mom._fastpath import columns

    return columns


@pytest.mark.parametrize("seed", range(5))
def test_the_compiled_column_encoder_encodes_as_the_reference(pytestconfig, seed):
    import numpy as np

    columns = fast_columns(pytestconfig)
    rng = random.Random(seed)
    values = [random_value(rng) for _ in range(50)] + [1 << 63, -(1 << 63), -(1 << 63) - 1, -0.0, float("inf")]
    encoded = []
    for encode in (SampleTable._encode_column, columns.encode_column):
        tags, payload = np.full(len(values), 8, dtype=np.int8), np.zeros(len(values), dtype=np.int64)
        kept = encode(values, tags, payload, MISSING)
        encoded.append((tags.tolist(), payload.tolist(), kept))
    assert encoded[0] == encoded[1]
    assert encoded[0][2]  # some values were kept aside


def test_objects_stay_readable_when_the_table_grows():
    """The object cells move to a wider layout: every sample still reads its values."""
    table = SampleTable(history=3, capacity=8)
    rows = [table.add_row(f"g{index}") for index in range(8)]
    for round_ in range(4):
        table.append_columns(rows, {"o": [Opaque(round_ * 100 + row) for row in rows], "s": [f"t{row}" for row in rows]})
    table.append(rows[3], {"o": 5, "s": "x"})  # an int where an object was: its cell freed
    more = [table.add_row(f"h{index}") for index in range(9)]  # past the capacity: grown
    assert table.capacity > 8
    table.append_columns(more, {"o": [Opaque(-row) for row in more], "s": ["new"] * len(more)})
    for row in rows:
        expected = [Opaque(r * 100 + row) for r in (1, 2, 3)] if row != rows[3] else [Opaque(203), Opaque(303), 5]
        assert table.history_of(row, "o") == expected
    assert [table.latest(row, "s") for row in more] == ["new"] * len(more)
    assert [table.latest(row, "o") for row in more] == [Opaque(-row) for row in more]
    live = [value for value in table.objects if value is not None]
    # 3 samples of 2 objects per old row (one row's newest has an int) and the new rows' one each
    assert len(live) == 3 * 2 * 8 - 1 + 2 * 9
    table.remove_row(more[0])
    assert len([value for value in table.objects if value is not None]) == len(live) - 2


class Bare:
    """A record without limits of its own (not a DiskIoTune)."""


def disk_cases():
    from mom.plugins.collectors.io_tune import DiskIoTune

    def disk(limits):
        return DiskIoTune("vda", "/p", {}, {}, dict(limits))

    def state(limits):
        return {"name": "vda", "path": "/p", "ioTune": dict(limits)}

    same = {"total_bytes_sec": 5}
    return [
        ([disk(same)], [state(same)], True),
        ([], [], True),
        ([disk(same)], [state({"total_bytes_sec": 6})], False),  # a policy set a limit
        ([disk(same), disk(same)], [state(same)], False),  # not one state per record
        ([disk(same)], [dict(same)], False),  # a bare limits dict: looked at closer
        ([disk(same)], [None], False),
        ([Bare()], [state(same)], False),
        ((disk(same),), [state(same)], False),  # not lists
    ]


def test_the_sure_unchanged_disk_test_and_its_compiled_twin_agree(pytestconfig):
    from mom.plugins.collectors import io_tune

    implementations = [(io_tune.reference_disks_unchanged, io_tune.reference_disks_maybe_changed)]
    try:
        columns = fast_columns(pytestconfig)
    except pytest.skip.Exception:
        columns = None
    if columns is not None:
        implementations.append((columns.disks_unchanged, columns.disks_maybe_changed))
    cases = disk_cases()
    for unchanged, maybe_changed in implementations:
        assert [unchanged(tunes, states) for tunes, states, _expected in cases] == [case[2] for case in cases]
        tunes_column = [case[0] for case in cases] + [MISSING, None]
        states_column = [case[1] for case in cases] + [MISSING, [1]]
        # positions where both are lists and not surely unchanged
        assert maybe_changed(tunes_column, states_column) == [2, 3, 4, 5, 6]
        with pytest.raises(ValueError):
            maybe_changed([[]], [])


class Loud:
    """A limit whose == runs Python code (here: one that empties a list under the walk)."""

    def __init__(self, value, victim=None):
        self.value, self.victim = value, victim

    def __eq__(self, other):
        if self.victim is not None:
            self.victim.clear()
        return isinstance(other, Loud) and other.value == self.value

    __hash__ = None


def random_limits_pair(rng):
    """Two limit dicts as a record's and its collected copy can be: the same value
    objects (the usual round), a changed limit, equal values of other objects or types
    (1 and 1.0, True and 1, NaN), another key order, a key more or less."""
    keys = ["total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec"]
    nan = float("nan")
    values = [0, 1, 5000000, 1.0, True, None, "x", nan, 10**30]
    current = {key: rng.choice(values) for key in rng.sample(keys, rng.randint(0, len(keys)))}
    copy_of = dict(current)
    change = rng.randrange(8)
    if change == 1 and copy_of:
        copy_of[rng.choice(list(copy_of))] = rng.choice(values)
    elif change == 2 and copy_of:
        key = rng.choice(list(copy_of))
        value = copy_of[key]
        copy_of[key] = int(str(value)) if type(value) is int else float(value) if type(value) is float else value
    elif change == 3:
        copy_of = dict(reversed(list(copy_of.items())))
    elif change == 4:
        copy_of["write_iops_sec"] = 0
    elif change == 5 and copy_of:
        del copy_of[rng.choice(list(copy_of))]
    elif change == 6 and copy_of:
        copy_of[rng.choice(list(copy_of))] = float("nan")  # another NaN: not equal
    return current, copy_of


@pytest.mark.parametrize("seed", range(4))
def test_the_limits_comparison_answers_as_dict_equality(pytestconfig, seed):
    """The compiled test walks a record's limits and their copy in step: on random pairs
    it answers as the reference, which is ``!=`` of the two dicts."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged
    rng = random.Random(seed)
    answers = set()
    for _case in range(300):
        current, copy_of = random_limits_pair(rng)
        tunes = [DiskIoTune("vda", "/p", {}, {}, current)]
        states = [{"name": "vda", "ioTune": copy_of}]
        expected = io_tune.reference_disks_unchanged(tunes, states)
        assert expected == (current == copy_of)
        assert compiled(tunes, states) == expected, (current, copy_of)
        answers.add(expected)
    assert answers == {True, False}


def test_the_limits_comparison_survives_an_eq_that_changes_the_lists(pytestconfig):
    """A limit whose == empties the records' list mid-walk: not surely unchanged, in both
    (the compiled walk reads no item past the list's new end)."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged
    for unchanged in (io_tune.reference_disks_unchanged, compiled):
        tunes = []
        tunes.extend(DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": Loud(5, tunes)}) for _ in range(3))
        states = [{"ioTune": {"total_bytes_sec": Loud(5)}} for _ in range(3)]
        assert unchanged(tunes, states) is False
        assert tunes == []


class _Held:
    """What samples_maybe_changed reads of a collector: its last sample."""

    def __init__(self, sample):
        self._sample = sample


def test_the_samples_walk_and_its_compiled_twin_agree(pytestconfig):
    from mom.plugins.collectors import io_tune

    implementations = [io_tune.reference_samples_maybe_changed]
    try:
        implementations.append(fast_columns(pytestconfig).samples_maybe_changed)
    except pytest.skip.Exception:
        pass  # reference only: the pure-Python run
    cases = disk_cases()
    samples = [None, *({"io_tune": tunes, "io_tune_current": states} for tunes, states, _expected in cases), None]
    # as disks_maybe_changed's [2, 3, 4, 5, 6] of the cases, after the leading None
    expected = [3, 4, 5, 6, 7]
    for samples_maybe_changed in implementations:
        found, changed = samples_maybe_changed([_Held(sample) for sample in samples])
        assert found == samples and all(map(operator.is_, found, samples))
        assert changed == expected
        assert samples_maybe_changed(()) == ([], [])
        with pytest.raises(KeyError):
            samples_maybe_changed([_Held({"io_tune": []})])
        with pytest.raises(TypeError):
            samples_maybe_changed([_Held(3)])
        with pytest.raises(AttributeError):
            samples_maybe_changed([object()])


def io_tune_of(manager, name):
    monitor = next(monitor for monitor in manager.guests.values() if monitor.name == name)
    return manager.table.latest(monitor.row, "io_tune")


def test_an_io_tune_sample_is_kept_until_a_policy_or_the_domain_changes_it(tmp_path, batched_rounds):
    """A batched round gives a guest its last IO-tune sample again while its domain XML
    is the same and no policy changed its records; either change gets a new one."""
    import libvirt

    rig = LibvirtTickRig(str(tmp_path), 2)
    try:
        manager = rig.guest_manager
        manager.collect_guests()
        first = io_tune_of(manager, "vm0000")
        manager.collect_guests()
        assert io_tune_of(manager, "vm0000") is first  # kept: nothing changed
        collected = first[0].ioTune()["ioTune"]["total_bytes_sec"]
        first[0].setTotalBytesSec(collected + 1)  # as a policy's setter (nothing applied)
        manager.collect_guests()
        again = io_tune_of(manager, "vm0000")
        assert again is not first and again[0].ioTune()["ioTune"]["total_bytes_sec"] == collected
        other = io_tune_of(manager, "vm0001")
        rig.iface.conn.lookupByName("vm0001").setBlockIoTune(
            "vda", {"total_bytes_sec": 2000000}, libvirt.VIR_DOMAIN_AFFECT_LIVE
        )
        rig.iface._on_event(rig.iface.conn.lookupByName("vm0001").UUIDString(), "tunable", ())  # what libvirt's event does
        manager.collect_guests()
        changed = io_tune_of(manager, "vm0001")
        assert changed is not other and changed[0].ioTune()["ioTune"]["total_bytes_sec"] == 2000000
        assert io_tune_of(manager, "vm0000") is again
        assert batched_rounds == [True] * 4
    finally:
        rig.close()


def test_memory_columns_are_memory_samples_by_field(tmp_path):
    """libvirt's memory statistics as columns: the same values as per-guest dicts, a
    guest whose memoryStats() fails without values and with its error."""
    from mom.errors import HypervisorInterfaceError
    from mom.plugins.collectors.base import transpose

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]
        iface.prefetch()
        samples = iface.memory_samples(uuids)
        iface.prefetch()  # a new round: memoryStats() asked again
        columns, failures = iface.memory_columns(uuids)
        assert failures == {} and columns == transpose(samples) and len(columns["mem_unused"]) == 3
        iface.prefetch()
        # the middle guest's statistics already fetched this round (as getVmBalloonInfo
        # does): the others asked after it, every value still in its guest's place
        raw = {"available": 7, "unused": 6, "major_fault": 5, "minor_fault": 4, "swap_in": 3, "swap_out": 2}
        iface._round.memory[uuids[1]] = raw
        columns, failures = iface.memory_columns(uuids)
        assert failures == {} and [values[1] for values in columns.values()] == [7, 6, 5, 4, 3, 2]
        assert columns["mem_unused"] == [samples[0]["mem_unused"], 6, samples[2]["mem_unused"]]
        iface.prefetch()
        rig.iface.conn.lookupByUUIDString(uuids[1]).destroy()  # gone after the bulk call
        columns, failures = iface.memory_columns(uuids)
        assert list(failures) == [1] and isinstance(failures[1], HypervisorInterfaceError)
        assert all(values[1] is MISSING for values in columns.values())
        assert columns["mem_unused"][0] == samples[0]["mem_unused"] and columns["mem_unused"][2] == samples[2]["mem_unused"]
    finally:
        rig.close()


def test_memory_columns_with_a_handle_dropped_after_the_round_aligned_go_guest_by_guest(tmp_path):
    """A lifecycle event (another thread) drops a handle between the round's aligned
    entries and the memoryStats() pass: no pass at once, the guests asked one by one
    (the one without a handle looked up again), every guest's statistics given."""
    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]
        iface.prefetch()
        expected = iface.memory_samples(uuids)
        iface.prefetch()
        assert iface._aligned(uuids) is not None
        iface._domains[uuids[2]].handle = None
        assert iface._memory_columns_at_once(uuids) is None  # before any call
        assert not iface._round.memory
        columns, failures = iface.memory_columns(uuids)
        assert failures == {}
        assert [{name: values[position] for name, values in columns.items()} for position in range(3)] == expected
    finally:
        rig.close()


def test_balloon_and_cpu_tune_columns_are_their_samples_by_field(tmp_path):
    """The columns a batched round takes at once are the per-guest answers by field; a
    guest whose cached XML was dropped (an event) sends the next round guest by guest
    (the round under way keeps the XML it found: the event counts from the next one)."""
    from mom.plugins.collectors.base import transpose

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        rig.guest_manager.collect_guests()  # the XML and scheduler parameters cached
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]
        iface.prefetch()
        iface.memory_columns(uuids)
        balloon, cpu = iface.balloon_columns(uuids), iface.cpu_tune_columns(uuids)
        assert balloon == transpose(iface.balloon_samples(uuids))
        assert cpu == transpose(iface.cpu_tune_samples(uuids))
        assert len(balloon["balloon_cur"]) == 3 and set(cpu) >= {"vcpu_quota", "vcpu_period", "vcpu_count"}
        iface._on_event(uuids[1], "tunable", ())
        assert iface.balloon_columns(uuids) == balloon  # this round's XML, found already
        iface.prefetch()
        iface.memory_columns(uuids)
        assert iface.balloon_columns(uuids) is None and iface.cpu_tune_columns(uuids) is None
        assert transpose(iface.balloon_samples(uuids)) == balloon  # read again, the same
    finally:
        rig.close()


def test_call_each_answers_every_call_after_a_failed_one(tmp_path):
    """One C-level pass over the calls; a failing call gives its error in its place and
    the calls after it are still made, each counted once."""
    import libvirt

    from mom.errors import HypervisorInterfaceError

    rig = LibvirtTickRig(str(tmp_path), 1)
    try:
        connection = rig.iface.connection
        made = []

        def answer(value):
            def call():
                made.append(value)
                if value == 2:
                    raise libvirt.libvirtError("refused")
                return value

            return call

        before = connection.calls_by_name().get("probe", 0)
        results = connection.call_each("probe", [answer(v) for v in range(5)], [f"dom{v}" for v in range(5)])
        assert [r for r in results if not isinstance(r, HypervisorInterfaceError)] == [0, 1, 3, 4]
        assert isinstance(results[2], HypervisorInterfaceError) and "dom2" in str(results[2])
        assert made == [0, 1, 2, 3, 4] and connection.calls_by_name()["probe"] - before == 5
    finally:
        rig.close()


def test_memory_stats_columns_answer_as_call_each(tmp_path):
    """memoryStats() of each handle, the answers as columns as they come: the same calls,
    counts, errors in their places (None in the columns there) and the calls after a
    failed one still made; an answer without one of the keys noted whole, its places
    None."""
    import libvirt

    from mom.errors import HypervisorInterfaceError

    class Handle:
        def __init__(self, value, made):
            self.value, self.made = value, made

        def memoryStats(self):
            self.made.append(self.value)
            if self.value in (0, 5):
                raise libvirt.libvirtError(f"refused {self.value}")
            if self.value == 3:
                return {"value": 3}  # no "double"
            return {"value": self.value, "double": 2 * self.value, "other": None}

    mark = object()
    rig = LibvirtTickRig(str(tmp_path), 1)
    try:
        connection = rig.iface.connection
        made = []
        handles = [Handle(v, made) for v in range(6)]
        domains = [f"dom{v}" for v in range(6)]
        expected = connection.call_each("memoryStats", [handle.memoryStats for handle in handles], domains)
        del made[:]
        before = connection.calls_by_name()["memoryStats"]
        columns, notes = connection.memory_stats_columns(handles, domains, ("value", "double"), mark)
        assert made == [0, 1, 2, 3, 4, 5] and connection.calls_by_name()["memoryStats"] - before == 6
        assert columns == ([None, 1, 2, None, 4, None], [None, 2, 4, None, 8, None])
        assert [p for p, n in enumerate(notes) if n is mark] == [1, 2, 4]
        assert notes[3] == {"value": 3}
        for position in (0, 5):  # the last call failed too: its place padded
            assert isinstance(notes[position], HypervisorInterfaceError)
            assert str(notes[position]) == str(expected[position])
        assert connection.memory_stats_columns([], [], ("value",), mark) == (([],), [])
    finally:
        rig.close()


def test_memory_columns_asked_at_once_are_the_guests_answers(tmp_path):
    """The test driver's memoryStats() answers taken as columns as they come: the same
    columns, the balloon step's ``actual`` from them, and a step that asks for one
    guest's statistics afterwards (guest by guest) finds them without asking again; a
    guest whose answer lacks a statistic sends the round guest by guest, its values
    where they belong."""
    from mom.plugins.collectors.base import transpose
    from mom.plugins.hypervisors import libvirt as libvirt_interface
    from tests.helpers import calls_during

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        rig.guest_manager.collect_guests()  # the XML cached
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]
        iface.prefetch()
        samples = iface.memory_samples(uuids)
        balloons = iface.balloon_samples(uuids)
        iface.prefetch()
        columns, failures = iface.memory_columns(uuids)
        assert failures == {} and columns == transpose(samples)
        assert iface._round.asked is not None and not iface._round.memory
        assert iface.balloon_columns(uuids) == transpose(balloons)
        # guest by guest after it: the answers asked at once, no memoryStats() again
        assert calls_during(iface, lambda: iface.balloon_samples(uuids)) == {}
        assert iface.balloon_samples(uuids) == balloons
        assert iface._round.asked is None and set(iface._round.memory) == set(uuids)
        assert set(iface._round.memory[uuids[0]]) == set(libvirt_interface._ANSWER_KEYS)
        assert calls_during(iface, lambda: iface.memory_columns(uuids)) == {}  # asked this round already
        assert iface.memory_columns(uuids) == (columns, {})
        iface.prefetch()
        handle = iface._domains[uuids[1]].handle
        raw = handle.memoryStats()
        del raw["swap_in"]
        lacking = types.SimpleNamespace(memoryStats=lambda: dict(raw))
        iface._domains[uuids[1]].handle = lacking
        try:
            columns, failures = iface.memory_columns(uuids)
        finally:
            iface._domains[uuids[1]].handle = handle
        assert failures == {} and columns["mem_unused"] == [s["mem_unused"] for s in samples]
        assert columns["swap_in"][1] is MISSING and columns["swap_in"][0] == samples[0]["swap_in"]
        assert iface._round.memory[uuids[1]] == raw  # kept whole for the round
    finally:
        rig.close()


def test_peers_read_what_collectors_were_made_with_once():
    from mom.plugins.collectors.base import Peers, all_share, uuids_of

    class Made:
        def __init__(self, uuid, iface):
            self.uuid, self.iface = uuid, iface

    iface, other = object(), object()
    collectors = [Made(f"u{n}", iface) for n in range(4)]
    peers = Peers(collectors)
    assert list(peers) == collectors and uuids_of(peers) == ["u0", "u1", "u2", "u3"]
    assert all_share(peers, "iface", iface) and not all_share(peers, "iface", other)
    uuids_of(peers).append("changed by a caller")  # a copy each time: the memo stays
    assert uuids_of(peers) == ["u0", "u1", "u2", "u3"]
    mixed = Peers([*collectors[:3], Made("u3", other)])
    assert not all_share(mixed, "iface", iface) and not all_share(mixed, "iface", other)
    # a plain list is read every time (nothing says its collectors stay the same)
    assert all_share(collectors, "iface", iface)
    collectors[0].iface = other
    assert not all_share(collectors, "iface", iface)


class _Mapping:
    """A record that is not a dict (field_columns' generic path)."""

    def __init__(self, values):
        self.values = values

    def __getitem__(self, key):
        return self.values[key]


def field_columns_cases():
    records = [{"a": n, "b": str(n), "c": None} for n in range(5)]
    return [
        (records, ["a", "b"], [[0, 1, 2, 3, 4], ["0", "1", "2", "3", "4"]]),
        (records, ("c",), [[None] * 5]),
        (records, [], []),
        ([], ["a"], [[]]),
        ([*records, {"a": 9}], ["a", "b"], None),  # one record without "b"
        ([_Mapping({"a": 1}), {"a": 2}], ["a"], [[1, 2]]),
        ([_Mapping({"b": 1})], ["a"], None),
    ]


def test_field_columns_and_its_compiled_twin_agree(pytestconfig):
    from mom.plugins.collectors import base

    implementations = [base.reference_field_columns]
    try:
        implementations.append(fast_columns(pytestconfig).field_columns)
    except pytest.skip.Exception:
        pass  # reference only: the pure-Python run
    for field_columns in implementations:
        for records, keys, expected in field_columns_cases():
            assert field_columns(records, keys) == expected, (records, keys)
        with pytest.raises(TypeError):
            field_columns([None], ["a"])  # not a record: an error, as itemgetter gives


def test_cpu_tune_columns_follow_new_scheduler_parameters_and_vcpu_counts(tmp_path):
    """cpu_tune_columns keeps its columns while the XML, scheduler parameters and vCPU
    counts are the same; a parameter read again (a new dict) shows in the next round."""
    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        rig.guest_manager.collect_guests()
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]

        def round_columns():
            iface.prefetch()
            return iface.cpu_tune_columns(uuids)

        first = round_columns()
        assert first is not None and round_columns() == first
        entry = iface._domains[uuids[2]]
        entry.sched = {**entry.sched, "vcpu_quota": 12345}  # what a read after our change gives
        changed = round_columns()
        assert changed["vcpu_quota"] == first["vcpu_quota"][:2] + [12345]
        assert {name: values for name, values in changed.items() if name != "vcpu_quota"} == {
            name: values for name, values in first.items() if name != "vcpu_quota"
        }
    finally:
        rig.close()


def test_balloon_columns_follow_a_new_domain_xml(tmp_path):
    """balloon_columns keeps the XMLs' maximum memory and guarantee while the XMLs are
    the same; an XML read again (a new object) shows in the next round; what a caller
    does to the columns does not reach the memo; the columns are balloon_samples' answers."""
    import dataclasses

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        iface = rig.iface
        rig.guest_manager.collect_guests()
        uuids = [monitor.properties["uuid"] for monitor in rig.guest_manager.guests.values()]

        def round_columns():
            iface.prefetch()
            iface.memory_columns(uuids)  # the round's memoryStats(), asked at once
            return iface.balloon_columns(uuids)

        first = round_columns()
        assert first is not None
        samples = iface.balloon_samples(uuids)
        assert first == {name: [sample[name] for sample in samples] for name in first}
        first["balloon_max"][0] = first["balloon_min"][0] = -1  # a caller's change: not the memo's
        again = round_columns()
        assert again["balloon_max"][0] != -1 and again["balloon_min"][0] != -1
        entry = iface._domains[uuids[1]]
        entry.xml = dataclasses.replace(entry.xml, max_memory=entry.xml.max_memory + 1024, min_guarantee=4096)
        changed = round_columns()
        assert changed["balloon_max"] == [again["balloon_max"][0], again["balloon_max"][1] + 1024, again["balloon_max"][2]]
        assert changed["balloon_min"] == [again["balloon_min"][0], 4096, again["balloon_min"][2]]
        assert changed["balloon_cur"] == again["balloon_cur"]
    finally:
        rig.close()


def test_a_batched_rounds_plan_is_made_again_when_a_monitor_changes(tmp_path):
    from mom.runtime.batch import BatchedRounds

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        rig.guest_manager.collect_guests()
        monitors = list(rig.guest_manager.guests.values())
        rounds = BatchedRounds()
        plan = rounds.plan(monitors)
        assert plan is not None and rounds.plan(list(monitors)) is plan  # the same monitors
        assert rounds.plan(monitors[::-1]) is not plan  # another order: another plan
        plan = rounds.plan(monitors)
        monitors[1].collectors = list(monitors[1].collectors)  # a new list, the same collectors
        assert rounds.plan(monitors) is plan
        replacement = copy.copy(monitors[1].collectors[0])
        monitors[1].collectors = [replacement, *monitors[1].collectors[1:]]  # another collector
        assert rounds.plan(monitors) is not plan
        assert rounds.plan(monitors).by_position[0][1] is replacement
        plan = rounds.plan(monitors)
        monitors[2].fields = set(monitors[2].fields) | {"extra"}  # fields that differ by guest
        assert rounds.plan(monitors) is None
    finally:
        rig.close()


@pytest.mark.parametrize("seed", range(4))
def test_append_columns_of_rows_out_of_order_or_out_of_step(seed):
    """Rows given in any order, some left out of a round (their slots then differ):
    stored as row by row (the gathering path; consecutive rows in step are copied)."""
    rng = random.Random(seed)
    by_row, by_column = SampleTable(history=3), SampleTable(history=3)
    rows = [by_row.add_row(f"g{index}") for index in range(6)]
    assert rows == [by_column.add_row(f"g{index}") for index in range(6)]
    for _round in range(6):
        chosen = rng.sample(rows, rng.randint(1, len(rows)))
        if rng.random() < 0.5:
            chosen.sort()  # consecutive or not, in step or not
        columns = {
            "n": [rng.randint(0, 99) for _ in chosen],
            "o": [Opaque(rng.randint(0, 9)) for _ in chosen],
            "m": [random_value(rng) for _ in chosen],
        }
        for position, row in enumerate(chosen):
            by_row.append(row, {name: values[position] for name, values in columns.items() if values[position] is not MISSING})
        by_column.append_columns(chosen, columns)
        for row in rows:
            for name in columns:
                assert by_column.history_of(row, name) == by_row.history_of(row, name)
    live = [value for value in by_column.objects if value is not None]
    assert len(live) == len([value for value in by_row.objects if value is not None])


def test_the_io_tune_controller_sends_each_guests_limits_once_from_the_rows(tmp_path):
    """On the daemon's rows (a GuestSet's array) the IoTune controller finds the guests
    whose limits the policy changed: each once, then none while nothing changes."""
    from tests.helpers import calls_during

    rig = LibvirtTickRig(str(tmp_path), 3)
    try:
        sent = [calls_during(rig.iface, rig.tick).get("setBlockIoTune", 0) for _ in range(4)]
    finally:
        rig.close()
    assert sent == [3, 0, 0, 0]


class StoreState:
    """A table's arrays and object cells as ``store_columns`` takes them, of its own."""

    def __init__(self, table):
        import numpy as np

        self.arrays = [np.array(a) for a in (table.tags, table.payload, table.latest_tags, table.latest_payload, table.head, table.count)]
        self.objects = list(table.objects)
        self.bases = dict(table._object_base)
        self.block = table.capacity * table.history

    def cells(self, field):
        if field not in self.bases:
            self.bases[field] = len(self.objects)
            self.objects.extend([None] * self.block)

    def store(self, implementation, by_field, names, rows):
        implementation(list(by_field), names, *self.arrays, rows, self.objects, self.bases, self.cells, MISSING)

    def cells_in_use(self):
        """What the tags say is stored: the arrays, and each object cell's value."""
        tags, payload = self.arrays[0], self.arrays[1]
        held = [
            (field, row, slot, self.objects[int(payload[field, row, slot])])
            for field, row, slot in zip(*(tags == TAG_OBJECT).nonzero())
        ]
        return [a.tolist() for a in self.arrays], held, sorted(self.bases.items())


class Number(int):
    """An int of another type: kept aside, as ``encode_cell`` keeps it."""


class Ratio(float):
    pass


def random_cell(rng):
    kind = rng.random()
    if kind < 0.1:
        return Number(rng.randint(0, 9))
    if kind < 0.15:
        return Ratio(rng.random())
    if kind < 0.2:
        return rng.choice([(1 << 63) - 1, -(1 << 63), 1 << 63, -(1 << 63) - 1, -0.0, float("nan")])
    return random_value(rng)


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_store_stores_as_the_reference(pytestconfig, seed):
    """Random columns (MISSING, values past int64, subclasses, NaN), rows out of order
    and left out, fields absent for a round or kept aside for the first time, rings
    filled past their length: both stores leave the same arrays and object cells."""
    from mom.runtime.table import store_columns as reference

    compiled = fast_columns(pytestconfig).store_columns
    rng = random.Random(seed)
    table = SampleTable(history=3, capacity=10)
    rows = [table.add_row(f"g{index}") for index in range(9)]
    names = [f"f{index}" for index in range(6)]
    for name in names:
        table.add_field(name)
    names = list(table.fields)  # the table's own fields too, as append_columns gives them
    states = [StoreState(table), StoreState(table)]
    for _round in range(8):
        chosen = rng.sample(rows, rng.randint(1, len(rows)))
        if rng.random() < 0.3:
            chosen = [row - table.capacity for row in chosen]  # numpy's negative indexing
        by_field = [None if rng.random() < 0.2 else [random_cell(rng) for _ in chosen] for _ in names]
        if rng.random() < 0.3:
            by_field[-1] = tuple(random_cell(rng) for _ in chosen)  # any sequence
        if rng.random() < 0.5:
            by_field[0] = [Opaque(rng.randint(0, 3)) for _ in chosen]  # every value aside
        for state, implementation in zip(states, (reference, compiled)):
            state.store(implementation, by_field, names, chosen)
        expected, found = states[0].cells_in_use(), states[1].cells_in_use()
        assert repr(found) == repr(expected)  # repr: NaN equal to itself, types shown
    assert any(states[0].bases)  # some field was kept aside


@pytest.mark.parametrize("fault", ["short column", "row past the table"])
def test_the_stores_refuse_bad_input_and_change_nothing(pytestconfig, fault):
    from mom.runtime.table import store_columns as reference

    compiled = fast_columns(pytestconfig).store_columns
    table = SampleTable(["a", "b"], history=2, capacity=4)
    rows = [table.add_row(f"g{index}") for index in range(3)]
    table.append_columns(rows, {"a": [Opaque(row) for row in rows], "b": [1, 2, 3]})
    by_field = [[Opaque(9)] * 3, [7, 8, 9]]
    if fault == "short column":
        by_field[1] = [7, 8]
        error = ValueError
    elif fault == "row past the table":
        rows = [0, 1, 7]
        error = IndexError
    for implementation in (reference, compiled):
        state = StoreState(table)
        before = state.cells_in_use()
        with pytest.raises(error):
            state.store(implementation, by_field, list(table.fields), rows)
        assert state.cells_in_use() == before


def test_the_compiled_store_refuses_a_cells_function_that_breaks_its_block(pytestconfig):
    """A ``cells`` that makes a block too short (or none) is an error, not a write past
    the object list's end."""
    compiled = fast_columns(pytestconfig).store_columns
    table = SampleTable(["a"], history=2, capacity=4)
    rows = [table.add_row(f"g{index}") for index in range(4)]
    state = StoreState(table)

    def short_block(field):
        state.bases[field] = len(state.objects)
        state.objects.extend([None] * 3)

    def no_block(field):
        pass

    for cells, message in ((short_block, "outside the table's cells"), (no_block, "no object block")):
        state.cells = cells
        state.bases.clear()
        with pytest.raises(ValueError, match=message):
            state.store(compiled, [[Opaque(row) for row in rows]], ["a"], rows)


@pytest.mark.parametrize("seed", range(6))
def test_the_newest_objects_reader_and_its_compiled_twin_agree(pytestconfig, seed):
    """Rows with an object cell, a plain value, no sample yet, absent, outside the table
    (negative too) and object cells out of range: both readers give the same objects
    or the same None (the caller's cell-by-cell reading), and latest_column the same
    values as reading each row alone."""
    import numpy as np

    from mom.runtime.table import latest_objects as reference

    compiled = fast_columns(pytestconfig).latest_objects
    rng = random.Random(seed)
    table = SampleTable(["o"], history=2, capacity=8)
    rows = [table.add_row(f"g{index}") for index in range(6)]
    for _round in range(3):
        chosen = rng.sample(rows, rng.randint(1, len(rows)))
        values = [Opaque(rng.randint(0, 9)) if rng.random() < 0.8 else rng.choice([1, None, MISSING]) for _ in chosen]
        table.append_columns(chosen, {"o": values})
    field = table.field_index["o"]
    tags, payload = table.latest_tags[field], table.latest_payload[field]
    answers = 0
    for _case in range(40):
        asked = [rng.choice(rows + [7, -1, 8, 100]) for _ in range(rng.randint(0, 6))]
        index = np.array(asked, dtype=np.intp)
        expected = reference(table.objects, tags, payload, table.count, index)
        assert compiled(table.objects, tags, payload, table.count, index) == expected
        if all(0 <= row < table.capacity for row in asked):
            assert table.latest_column(asked, "o") == [table.latest(row, "o") for row in asked]
        answers += expected is not None
    assert answers  # some cases were all objects
    held = [row for row in rows if table.count[row] and tags[row] == TAG_OBJECT]
    assert held
    one = np.array(held[:1], dtype=np.intp)
    short = payload.copy()
    short[held[0]] = len(table.objects)  # a cell past the objects: not read
    for reader in (reference, compiled):
        assert reader(table.objects, tags, payload, table.count, one) == [table.latest(held[0], "o")]
        assert reader(table.objects, tags, short, table.count, one) is None
        with pytest.raises(ValueError):
            reader(table.objects, tags, payload, table.count[:-1], one)


def random_samples(rng):
    """Per-guest samples as collectors give them: the same keys each (in one order or
    another), a key more or less, None, empty, a mapping that is not a dict."""
    keys = ["a", "b", "c"]
    samples = [{key: rng.randint(0, 3) for key in keys} for _ in range(rng.randint(0, 6))]
    change = rng.randrange(7)
    if samples and change == 1:
        samples[rng.randrange(len(samples))] = None
    elif samples and change == 2:
        del samples[rng.randrange(len(samples))]["b"]
    elif samples and change == 3:
        victim = samples[rng.randrange(len(samples))]
        victim["d"] = 9
        del victim["a"]  # as many keys, not the same ones
    elif samples and change == 4:
        samples[rng.randrange(len(samples))] = dict(reversed(list(samples[0].items())))
    elif samples and change == 5:
        samples = [{} for _ in samples]
    elif samples and change == 6:
        samples[rng.randrange(len(samples))] = types.MappingProxyType(dict(samples[0]))
    return samples


@pytest.mark.parametrize("seed", range(4))
def test_the_same_keys_walk_and_its_compiled_twin_agree(pytestconfig, seed):
    """On dict samples the compiled walk answers as the reference (columns in the first
    sample's key order, or None); transpose gives the same columns either way, and the
    columns a guest-by-guest transposition gives."""
    from mom.plugins.collectors import base

    compiled = fast_columns(pytestconfig).same_key_columns
    rng = random.Random(seed)
    answers = set()
    for _case in range(200):
        samples = random_samples(rng)
        expected = base.same_key_columns(samples)
        if all(type(sample) is dict for sample in samples):
            found = compiled(samples)
            assert found == expected and (found is None or list(found) == list(expected)), samples
        else:
            assert compiled(samples) is None  # not a dict: the caller's general way
        by_guest = {}
        for index, sample in enumerate(samples):
            for name, value in (sample or {}).items():
                by_guest.setdefault(name, [MISSING] * len(samples))[index] = value
        columns = base.transpose(samples)
        assert columns == by_guest and list(columns) == list(by_guest)
        answers.add(expected is None)
    assert answers == {True, False}


def change_limits(rng, tune, state, notes):
    """One change a policy, a controller or a site's code may make to a record's limits
    or to their collected copy (or none): through a setter, straight into either dict
    (set, delete, clear, update, setdefault, pop), a dict replaced, a value that is not
    a plain scalar changed in place."""
    keys = ["total_bytes_sec", "read_bytes_sec", "total_iops_sec"]
    current, copy_of = tune._current, state["ioTune"]
    target = rng.choice([current, copy_of])
    key = rng.choice(keys)
    choice = rng.randrange(14)
    if choice == 0:
        tune.setTotalBytesSec(rng.choice([0, 5, 6]))
    elif choice == 1:
        target[key] = rng.choice([0, 5, 6, 5.0, True])
    elif choice == 2:
        target.pop(key, None)
    elif choice == 3:
        target.clear()
    elif choice == 4:
        target.update({key: rng.choice([0, 5])})
    elif choice == 5:
        target.setdefault(key, 7)
    elif choice == 6:
        tune.current.vals[key] = rng.choice([0, 5])  # the record's bag is the dict itself
    elif choice == 7:
        tune._current = dict(copy_of)  # another dict, equal
    elif choice == 8:
        state["ioTune"] = dict(current)  # another copy, equal
    elif choice == 9:
        notes["nested"] = nested = [1]
        current[key], copy_of[key] = nested, [1]  # equal, not plain
    elif choice == 10 and "nested" in notes:
        notes["nested"].append(2)  # changed in place: neither dict's version moves
    elif choice == 11:
        for limits in (current, copy_of):
            limits.clear()
            limits.update({name: 5 for name in keys})  # equal again
    # else: nothing changed


@pytest.mark.parametrize("seed", range(6))
def test_a_stamp_never_hides_a_changed_limit(pytestconfig, seed):
    """The compiled test remembers limits it found equal to their copy while neither
    dict changes: through any sequence of changes of either (setters, straight writes,
    deletes, a dict replaced, a nested value changed in place) it answers as the
    reference, which compares them each time; and it does skip the comparison."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged

    class Subclass(DiskIoTune):  # a site's record class: a __dict__ besides the slots
        pass

    rng = random.Random(seed)
    stamped = 0
    for _record in range(20):
        limits = {"total_bytes_sec": 5, "read_bytes_sec": 0, "total_iops_sec": 400}
        tune = rng.choice([DiskIoTune, Subclass])("vda", "/p", {}, {}, dict(limits))
        state = {"name": "vda", "ioTune": dict(limits)}
        notes = {}
        for _step in range(30):
            change_limits(rng, tune, state, notes)
            for _ask in range(rng.randint(1, 2)):
                expected = io_tune.reference_disks_unchanged([tune], [state])
                assert compiled([tune], [state]) == expected, (tune._current, state["ioTune"])
            stamped += tune._stamp is not None
    assert stamped  # the stamps were made, and then trusted or refused above


def change_state(rng, tune, state, notes):
    """One change of a record's state dict (where its collected copy is found), or of
    the limits as change_limits makes: another key set, the copy deleted, replaced by
    None, by another dict (equal or not), the state cleared and filled again."""
    choice = rng.randrange(8)
    if "ioTune" not in state or type(state.get("ioTune")) is not dict:
        state["ioTune"] = dict(tune._current) if choice % 2 else {"total_bytes_sec": 9}
    elif choice == 0:
        state["name"] = rng.choice(["vda", "vdb"])  # another key: the copy stays
    elif choice == 1:
        del state["ioTune"]
    elif choice == 2:
        state["ioTune"] = None
    elif choice == 3:
        state["ioTune"] = {"total_bytes_sec": rng.choice([0, 5])}
    elif choice == 4:
        limits = state["ioTune"]
        state.clear()
        state.update({"name": "vda", "ioTune": limits})  # the same copy again
    else:
        change_limits(rng, tune, state, notes)


@pytest.mark.parametrize("seed", range(6))
def test_a_stamp_never_hides_a_changed_state(pytestconfig, seed):
    """The compiled test also remembers where it found the copy (the state dict, while
    it does not change): through any sequence of changes of the state, its copy or the
    record's limits, and states swapped for others, it answers as the reference."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged
    rng = random.Random(seed)
    for _record in range(20):
        limits = {"total_bytes_sec": 5, "read_bytes_sec": 0}
        tune = DiskIoTune("vda", "/p", {}, {}, dict(limits))
        states = [{"name": "vda", "ioTune": dict(limits)}, {"name": "vda", "ioTune": dict(limits)}]
        notes = {}
        for _step in range(40):
            if rng.randrange(6) == 0:
                states.reverse()  # another state dict, with an equal or other copy
            change_state(rng, tune, states[0], notes)
            for _ask in range(rng.randint(1, 2)):
                expected = io_tune.reference_disks_unchanged([tune], [states[0]])
                assert compiled([tune], [states[0]]) == expected, (tune._current, states[0])


def test_a_state_whose_keys_run_python_is_looked_into_each_time(pytestconfig):
    """A state dict with a key whose == is Python code: the compiled test looks the copy
    up every time, as the reference does (the key asked each time); the same state with
    str keys only is looked into once while it does not change."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged

    class Odd:
        """A key that collides with "ioTune" and counts the times it is compared."""

        asked = 0

        def __hash__(self):
            return hash("ioTune")

        def __eq__(self, other):
            Odd.asked += 1
            return False

    asked = []
    for unchanged in (io_tune.reference_disks_unchanged, compiled):
        tune = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 5})
        state = {Odd(): 1, "ioTune": {"total_bytes_sec": 5}}
        Odd.asked = 0
        for _time in range(3):
            assert unchanged([tune], [state]) is True
            asked.append(Odd.asked)  # (a lookup's probes may meet the key twice)
    assert asked[:3] == asked[3:] and asked[0] > 0 and asked[2] == 3 * asked[0]
    tune = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 5})
    state = {"name": "vda", "ioTune": {"total_bytes_sec": 5}}
    assert compiled([tune], [state]) is True
    stamp = tune._stamp
    assert compiled([tune], [state]) is True and tune._stamp is stamp
    state["ioTune"] = {"total_bytes_sec": 6}
    assert compiled([tune], [state]) is False
    state["ioTune"] = None
    assert compiled([tune], [state]) is False
    del state["ioTune"]
    assert compiled([tune], [state]) is False
    state["ioTune"] = {"total_bytes_sec": 5}
    assert compiled([tune], [state]) is True
    assert compiled([tune], [dict(state)]) is True  # another state dict, the same copy
    assert compiled([tune], [{"ioTune": {"total_bytes_sec": 7}}]) is False


def test_a_copied_or_pickled_record_starts_without_a_stamp(pytestconfig):
    """A stamp is about two dict objects: a deep copy or a pickle of a record (other
    dicts) has none; a shallow copy shares the dicts, and a change of them counts."""
    import pickle

    from mom.plugins.collectors.io_tune import DiskIoTune

    compiled = fast_columns(pytestconfig).disks_unchanged
    tune = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 5})
    state = {"ioTune": {"total_bytes_sec": 5}}
    assert compiled([tune], [state]) is True
    assert tune._stamp is not None
    for again in (copy.deepcopy(tune), pickle.loads(pickle.dumps(tune))):
        assert again._stamp is None and again._current == tune._current
        assert compiled([again], [state]) is True
    shallow = copy.copy(tune)  # the same dicts: the stamp (of those very dicts) holds for it too
    shallow._current["total_bytes_sec"] = 6
    assert compiled([shallow], [state]) is False and compiled([tune], [state]) is False


def test_a_stamp_is_trusted_only_while_neither_dict_changes(pytestconfig):
    """The stamp is kept (the same object) while nothing changes, made again after a
    change that left the limits equal; a value whose == changes the limits while they
    are compared is never stamped; a stamp made from Python holds nothing; a site's
    record class with a ``_stamp`` of its own keeps it."""
    from mom.plugins.collectors import io_tune
    from mom.plugins.collectors.io_tune import DiskIoTune

    columns = fast_columns(pytestconfig)
    compiled = columns.disks_unchanged
    tune = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 5000000, "read_bytes_sec": 0})
    state = {"ioTune": dict(tune._current)}
    assert compiled([tune], [state]) is True
    stamp = tune._stamp
    assert stamp is not None
    assert compiled([tune], [state]) is True and tune._stamp is stamp  # trusted: not compared again
    tune._current["total_bytes_sec"] = int("5000000")  # another int, equal: compared, stamped again
    assert compiled([tune], [state]) is True and tune._stamp is not stamp

    class Sly:
        """Equal to 5, and changes the record's limits while compared."""

        def __init__(self, limits):
            self.limits = limits

        def __eq__(self, other):
            self.limits["total_bytes_sec"] = 6
            return other == 5

        __hash__ = None

    sly = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 5})
    sly._current["total_bytes_sec"] = Sly(sly._current)
    copy_of = {"ioTune": {"total_bytes_sec": 5}}
    for unchanged in (compiled, io_tune.reference_disks_unchanged):
        sly._current["total_bytes_sec"] = Sly(sly._current)
        assert unchanged([sly], [copy_of]) is True  # equal while compared
        assert sly._current == {"total_bytes_sec": 6}
        assert unchanged([sly], [copy_of]) is False  # and the change is seen next time
    forged = DiskIoTune("vda", "/p", {}, {}, {"total_bytes_sec": 7})
    forged._stamp = columns.LimitsStamp()
    assert compiled([forged], [{"ioTune": {"total_bytes_sec": 5}}]) is False

    class SiteRecord:
        __slots__ = ("_current", "_stamp")

        def __init__(self):
            self._current, self._stamp = {"total_bytes_sec": 5}, "a site's own"

    site = SiteRecord()
    assert compiled([site], [{"ioTune": {"total_bytes_sec": 5}}]) is True
    assert site._stamp == "a site's own"
