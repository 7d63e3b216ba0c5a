"""Host collectors against the real /proc and /sys of this machine."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from mom.config import new_parser
from mom.errors import FatalError
from mom.plugins import procfs
from mom.plugins.collectors.base import count_occurrences, get_collectors, open_datafile, parse_int
from mom.plugins.collectors.host_cpu import HostCpu
from mom.plugins.collectors.host_ksm import KSM_KEYS, HostKSM
from mom.plugins.collectors.host_memory import HostMemory
from mom.plugins.collectors.host_time import HostTime
from tests.helpers import ksm_sysfs_guard, wait_for


def meminfo() -> dict[str, int]:
    values = {}
    for line in open("/proc/meminfo"):
        key, value = line.split(":")
        values[key] = int(value.split()[0])
    return values


def test_host_memory_matches_proc_meminfo():
    collector = HostMemory({})
    sample = collector.collect()
    assert set(sample) == collector.getFields()
    info = meminfo()
    assert sample["mem_available"] == info["MemTotal"]
    assert sample["swap_total"] == info["SwapTotal"]
    assert sample["swap_usage"] == info["SwapTotal"] - info["SwapFree"]
    # free memory moves between reads; it stays within the machine
    assert 0 < sample["mem_unused"] <= sample["mem_free"] <= sample["mem_available"]
    assert sample["swap_in"] == 0 and sample["swap_out"] == 0  # first sample: no change yet
    second = collector.collect()
    assert second["swap_in"] >= 0 and second["swap_out"] >= 0


def test_host_memory_swap_is_a_delta(tmp_path):
    meminfo_file = tmp_path / "meminfo"
    meminfo_file.write_text(
        "MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 1 kB\nCached: 2 kB\nAnonPages: 5 kB\n"
        "SwapTotal: 50 kB\nSwapFree: 20 kB\n"
    )
    vmstat = tmp_path / "vmstat"
    vmstat.write_text("pswpin 100\npswpout 7\n")
    collector = HostMemory({}, str(meminfo_file), str(vmstat))
    assert collector.collect() == {
        "mem_available": 100,
        "mem_unused": 10,
        "mem_free": 13,
        "anon_pages": 5,
        "swap_total": 50,
        "swap_usage": 30,
        "swap_in": 0,
        "swap_out": 0,
    }
    vmstat.write_text("pswpin 130\npswpout 9\n")  # same file, re-read through the open handle
    sample = collector.collect()
    assert (sample["swap_in"], sample["swap_out"]) == (30, 2)


def test_missing_proc_file_is_fatal(tmp_path):
    with pytest.raises(FatalError, match="Unable to open file"):
        HostMemory({}, str(tmp_path / "nope"))


def test_host_cpu_counts_processors():
    assert HostCpu({}).collect() == {"cpu_count": os.cpu_count()}


def test_host_time_is_now():
    sample = HostTime({}).collect()
    assert sample["time_year"] == time.localtime().tm_year
    assert set(sample) == HostTime({}).getFields()


def test_host_ksm_reads_sysfs_without_forking():
    collector = HostKSM({"interval": 1})
    with ksm_sysfs_guard():  # no other test changes the knobs meanwhile
        sample = collector.collect()
        expected = {
            key: int(open(f"/sys/kernel/mm/ksm/{key}").read()) for key in ("run", "pages_to_scan", "sleep_millisecs")
        }
    assert set(sample) == collector.getFields()
    for key, value in expected.items():
        assert sample["ksm_" + key] == value
    assert sample["ksmd_cpu_usage"] == 0  # first sample
    assert collector.ksmd_pid is not None
    assert procfs.read_stat(collector.ksmd_pid).comm == "ksmd"
    second = collector.collect()
    assert 0 <= second["ksmd_cpu_usage"] <= 100 * os.cpu_count()
    assert len(KSM_KEYS) == 9


def test_host_ksm_shareable_counts_qemu_processes(tmp_path):
    # a process whose name contains "qemu": a copy of sleep named so
    fake = tmp_path / "qemu-system-test"
    fake.symlink_to("/bin/sleep")
    process = subprocess.Popen([str(fake), "30"])
    try:
        wait_for(lambda: "qemu" in procfs.read_stat(process.pid).comm, step=0.01, what=f"{fake.name} running")
        found = {s.pid: s for s in procfs.find_pids_by_name("qemu", exact=False)}
        after = HostKSM({"interval": 1})._shareable()
    finally:
        process.kill()
        process.wait()
    assert process.pid in found and found[process.pid].vsize > 0
    assert after >= found[process.pid].vsize // 1024 > 0


def test_host_ksm_without_sysfs_is_fatal(tmp_path):
    with pytest.raises(FatalError, match=r"HostKSM: open .*full_scans failed"):
        HostKSM({}, root=str(tmp_path))


def test_helpers_upstream_collectors_use(tmp_path):
    text = "MemTotal: 10 kB\nprocessor : 0\nprocessor : 1\n"
    assert parse_int(r"^MemTotal:\s+(\d+)", text) == 10
    assert parse_int(r"^Nope:\s+(\d+)", text) is None
    assert count_occurrences(r"^processor.*:.*", text) == 2
    assert open_datafile("/proc/uptime").read()


def test_get_collectors_gives_each_its_own_config(tmp_path):
    config = new_parser()
    config.add_section("Collector: GuestNetworkDaemon")
    config.set("Collector: GuestNetworkDaemon", "name-to-ip-helper", "/bin/true")
    properties = {"name": "g", "uuid": "u"}
    collectors = get_collectors("GuestNetworkDaemon, HostCpu", properties, config)
    assert [type(c).__name__ for c in collectors] == ["GuestNetworkDaemon", "HostCpu"]
    assert collectors[0].helper == "/bin/true"
    assert "config" not in properties and "config" not in collectors[1].properties
    assert get_collectors("HostCpu, NoSuchCollector", {}, config) is None
    assert get_collectors("HostCpu", {"config": {}}, config) is None


def test_proc_stat_parsing_survives_odd_names():
    stat = procfs.ProcStat(
        1, "1 (a) b (c)) S 0 1 1 0 -1 4194560 11 0 12 0 13 14 0 0 20 0 1 0 5 4096 3 18446744073709551615"
    )
    assert stat.comm == "a) b (c)"
    assert (stat.minflt, stat.majflt, stat.utime, stat.stime, stat.vsize, stat.rss) == (11, 12, 13, 14, 4096, 3)
    own = procfs.read_stat(os.getpid())
    assert own.pid == os.getpid() and own.rss > 0 and own.vsize > 0


def _fake_process(proc, pid, comm, *, vsize_pages=None, stat=True):
    """A /proc/<pid> directory with the files given (a process gone meanwhile has none)."""
    directory = proc / str(pid)
    directory.mkdir()
    if comm is not None:
        (directory / "comm").write_text(comm + "\n")
    if stat and comm is not None:
        fields = ["S"] + ["0"] * 19 + [str((vsize_pages or 0) * os.sysconf("SC_PAGE_SIZE")), "7"] + ["0"] * 20
        (directory / "stat").write_text(f"{pid} ({comm}) " + " ".join(fields) + "\n")
    if vsize_pages is not None:
        (directory / "statm").write_text(f"{vsize_pages} 7 0 0 0 0 0\n")


def test_lookup_by_name_reads_comm_and_skips_vanished_processes(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "self").mkdir()  # not a pid
    _fake_process(proc, 10, "qemu-kvm", vsize_pages=100)
    _fake_process(proc, 11, "bash", vsize_pages=50)
    _fake_process(proc, 12, None)  # vanished: its directory listed, its files gone
    _fake_process(proc, 13, "qemu-system-x86", vsize_pages=None, stat=False)  # gone after its comm was read
    _fake_process(proc, 14, "my qemu (1)", vsize_pages=30)  # spaces and parentheses in the name
    _fake_process(proc, 15, "ksmd", vsize_pages=0)
    page = os.sysconf("SC_PAGE_SIZE")
    assert sorted(procfs.vsizes_by_name("qemu", exact=False, proc=str(proc))) == [(10, 100 * page), (14, 30 * page)]
    assert sorted((s.pid, s.vsize) for s in procfs.find_pids_by_name("qemu", exact=False, proc=str(proc))) == [
        (10, 100 * page),
        (14, 30 * page),
    ]
    assert [s.pid for s in procfs.find_pids_by_name("ksmd", exact=True, proc=str(proc))] == [15]
    assert list(procfs.find_pids_by_name("ksm", exact=True, proc=str(proc))) == []


def test_lookup_by_name_reads_no_stat_of_a_process_not_wanted(tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    proc.mkdir()
    _fake_process(proc, 20, "bash", vsize_pages=5)
    _fake_process(proc, 21, "qemu-kvm", vsize_pages=5)
    original = procfs._stat_line
    opened = []
    monkeypatch.setattr(procfs, "_stat_line", lambda pid, where: opened.append(pid) or original(pid, where))
    assert [s.pid for s in procfs.find_pids_by_name("qemu", exact=False, proc=str(proc))] == [21]
    assert opened == [21]  # the name from comm: bash's stat is never read


def test_shareable_from_statm_equals_the_vsize_from_stat(tmp_path):
    root = tmp_path / "ksm"
    root.mkdir()
    for key in KSM_KEYS:
        (root / key).write_text("0\n")
    proc = tmp_path / "proc"
    proc.mkdir()
    _fake_process(proc, 10, "qemu-kvm", vsize_pages=1000)
    _fake_process(proc, 11, "qemu-kvm", vsize_pages=3)
    _fake_process(proc, 12, "bash", vsize_pages=50)
    collector = HostKSM({"interval": 1}, root=str(root), proc=str(proc))
    expected = sum(s.vsize // 1024 for s in procfs.find_pids_by_name("qemu", exact=False, proc=str(proc)))
    assert collector.collect()["ksm_shareable"] == expected > 0


def _settled(pid: int) -> bool:
    before = procfs.read_stat(pid)
    with open(f"/proc/{pid}/stat") as file:
        state = file.read().rsplit(")", 1)[1].split()[0]
    time.sleep(0.05)
    after = procfs.read_stat(pid)
    return before.comm == "sleep" and state == "S" and before.vsize == after.vsize


def test_comm_and_statm_agree_with_stat_on_a_real_process():
    process = subprocess.Popen(["sleep", "30"])
    try:
        # asleep in nanosleep: its loader and locale setup, which grow its mappings, are done
        wait_for(lambda: _settled(process.pid), step=0.05, what="sleep asleep with a settled size")
        sizes = dict(procfs.vsizes_by_name("sleep", exact=True))
        stats = {s.pid: s.vsize for s in procfs.find_pids_by_name("sleep", exact=True)}
    finally:
        process.kill()
        process.wait()
    assert sizes[process.pid] == stats[process.pid] > 0
