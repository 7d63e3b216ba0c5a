"""The shipped SLA policy set on real QEMU guests: classes from libvirt metadata, balloons by class.

The session's three 256 MiB guests are tagged through libvirt metadata in our namespace
(``urn:mom:sla:1``): g1 platinum, g2 gold, g3 vapor.  One momd runs the shipped set
``sla`` (``policy-dir: sla``) with the Balloon controller, and the GuestSla collector reads
the classes.  Pressure is forced as vdsm does it, through the ``01-parameters`` policy: the
pressure threshold at 99.9 % of the host's memory, so the host is always short.  Then,
read from libvirt (``memoryStats()['actual']``) and from each guest's own MemTotal (its
serial console): platinum stays at full size, gold never goes below 75 % of its maximum,
vapor is shrunk first and most.  ``getSlaStatus`` and ``momctl sla`` show each guest's
class and mode.  Pressure ends (the shipped parameters again) and the guests grow back.

The guests are the session's: the metadata is removed and the guests are back at full
size (and their balloon statistics at the boot MemTotal) before the next module.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import libvirt
import pytest

from mom.sla.sources import MOM_NAMESPACE
from tests.integration import realstack as rs
from tests.integration.momd_run import RunningMomd, running_momd

pytestmark = pytest.mark.realstack

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
KIB_PER_MIB = 1024
CLASSES = ("platinum", "gold", "vapor")  # for the session's g1, g2, g3
GOLD_GUARANTEE = 0.75
#: the safety floor's default (256 MiB) is these guests' whole memory: lowered, as in
#: test_momd_real_guests, so the floors left are the classes' and what a guest uses
MIN_GUEST_MEMORY = 128 * KIB_PER_MIB
#: always short of memory: free memory is always below 99.9 % of the host's; steps of 10 %
PRESSURE = "(defvar slaPressureThreshold 0.999) (defvar slaStepCap 0.10)"
#: the shipped thresholds (20 %, band 5 %): this host has far more free, so balloons grow back
NO_PRESSURE = "(defvar slaStepCap 0.10)"


def sla_metadata(sla_class: str) -> str:
    # libvirt adds the namespace and the prefix: the XML shows <mom:sla xmlns:mom="urn:mom:sla:1">
    return f"<sla><class>{sla_class}</class></sla>"


@pytest.fixture(scope="module")
def classes(realstack: rs.RealStack) -> Any:
    """{guest name: class}, set as libvirt metadata for this module and removed after it."""
    conn = realstack.connection()
    tagged = dict(zip(realstack.guests, CLASSES, strict=True))
    try:
        for name, sla_class in tagged.items():
            dom = conn.lookupByName(name)
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, sla_metadata(sla_class), "mom", MOM_NAMESPACE, LIVE)
            assert f"<class>{sla_class}</class>" in dom.metadata(
                libvirt.VIR_DOMAIN_METADATA_ELEMENT, MOM_NAMESPACE, LIVE
            )
        yield tagged
    finally:
        conn = realstack.connection()
        for name in tagged:
            conn.lookupByName(name).setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, MOM_NAMESPACE, LIVE)
        for name in tagged:  # other modules rely on untagged guests
            with pytest.raises(libvirt.libvirtError):
                conn.lookupByName(name).metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, MOM_NAMESPACE, LIVE)


@pytest.fixture(scope="module")
def momd(realstack: rs.RealStack, classes: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    main = {
        "policy-dir": "sla",
        # memory only: KSM, CPU, IO, network and NUMA would change the shared guests and host
        "controllers": "Balloon",
        "min-guest-memory": str(MIN_GUEST_MEMORY),
        "state-file": "",
    }
    with running_momd(
        realstack,
        tmp_path_factory.mktemp("momd-sla-real"),
        host="HostMemory, HostKSM, HostCpu, HostCpuPressure, HostIoPressure, HostNuma",
        guest="GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional, GuestSla, GuestSlaResources",
        main=main,
        restore_size=True,
        forbidden=("Traceback", "Policy error"),
    ) as running:
        yield running


def actual(conn: Any, name: str) -> int:
    return conn.lookupByName(name).memoryStats()["actual"]


def settled_mem_total(stack: rs.RealStack, conn: Any, name: str) -> tuple[int, rs.MemSample] | None:
    """(libvirt's balloon size, a MEM line the guest printed while it did not move), or None if it moved."""
    before = actual(conn, name)
    printed = stack.wait_mem(name, lambda s: True).uptime
    sample = stack.wait_mem(name, lambda s: s.uptime > printed, timeout=10)
    return (before, sample) if actual(conn, name) == before else None


def test_sla_classes_from_metadata_decide_who_is_ballooned(
    momd: RunningMomd, classes: dict[str, str], realstack: rs.RealStack, conn: Any
) -> None:
    platinum, gold, vapor = realstack.guests
    full = {name: realstack.full_kib(name) for name in realstack.guests}
    baseline = {name: realstack.wait_mem(name, lambda s: True).mem_total for name in realstack.guests}
    # the GuestSla collector read the classes from the metadata
    momd.until(
        "classes from the metadata",
        lambda: {n: s.get("sla_class") for n, s in momd.client.getStatistics()["guests"].items()} == classes,
        30,
    )
    for name, sla_class in classes.items():
        sla = momd.client.getGuestSla(name)
        assert sla["class"] == sla_class and sla["sources"]["sla_class"] == "metadata", sla
    assert all(actual(conn, name) == full[name] for name in realstack.guests)

    samples: list[dict[str, int]] = []
    try:
        assert momd.client.setNamedPolicy("01-parameters", PRESSURE) is True

        def watched() -> dict[str, int]:
            sizes = {name: actual(conn, name) for name in realstack.guests}
            samples.append(sizes)
            return sizes

        def reclaimed() -> bool:
            sizes = watched()
            return sizes[gold] <= GOLD_GUARANTEE * full[gold] + KIB_PER_MIB and sizes[vapor] < sizes[gold]

        with rs.timed("momd (sla set): gold down to 75 %, vapor below it"):
            momd.until("gold down to its guarantee and vapor below it", reclaimed, 120)
        # hold under pressure for a while: nothing moves past its class's floor
        end = time.monotonic() + 8
        while time.monotonic() < end:
            watched()
            time.sleep(0.5)
        status = momd.client.getSlaStatus()
        done = subprocess.run(
            [sys.executable, "-m", "mom.cli.momctl", "--socket", momd.sock, "sla"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        # the guests' own view, each on a MEM line printed while its balloon did not move
        seen = {}
        for name in realstack.guests:
            seen[name] = momd.until(f"{name}: a settled MEM line", lambda n=name: settled_mem_total(realstack, conn, n))
    finally:
        momd.client.setNamedPolicy("01-parameters", None)

    # platinum at full size, in every sample; gold never below 75 %; vapor first and most
    assert all(s[platinum] == full[platinum] for s in samples), [s[platinum] for s in samples]
    assert min(s[gold] for s in samples) >= GOLD_GUARANTEE * full[gold], [s[gold] for s in samples]
    first_gold = next(i for i, s in enumerate(samples) if s[gold] < full[gold])
    first_vapor = next(i for i, s in enumerate(samples) if s[vapor] < full[vapor])
    assert first_vapor <= first_gold, (first_vapor, first_gold)
    # (not vapor <= gold in every sample: a balloon moves at most slaStepCap a cycle, so
    # under this forced, infeasible pressure the allocator also takes from gold while
    # vapor is still on its way down, and their balloons answer at their own pace)
    final = samples[-1]
    assert full[vapor] - final[vapor] > full[gold] - final[gold] > 0, final
    assert final[vapor] >= MIN_GUEST_MEMORY  # the safety floor, lowered for these guests
    # the guests' MemTotal went down by exactly what libvirt reports, and no further
    for name, (size, sample) in seen.items():
        assert sample.mem_total == baseline[name] - (full[name] - size), (name, size, sample, baseline[name])
    assert seen[platinum][1].mem_total == baseline[platinum]
    assert seen[gold][1].mem_total >= baseline[gold] - (1 - GOLD_GUARANTEE) * full[gold]
    assert seen[vapor][1].mem_total < seen[gold][1].mem_total

    # what the operators see: each guest's class and mode
    assert status["cycle"]["mode"] == "reclaim" and status["cycle"]["state"] == "pressure", status["cycle"]
    rows = {row["name"]: row for row in status["guests"]}
    assert {name: rows[name]["class"] for name in realstack.guests} == classes
    assert rows[platinum]["mode"] == "fixed" and rows[platinum]["current"] == full[platinum]
    assert rows[gold]["mode"] in ("hold", "shrink") and rows[gold]["guarantee"] == int(GOLD_GUARANTEE * full[gold])
    assert rows[vapor]["mode"] in ("hold", "shrink") and rows[vapor]["guarantee"] == 0
    assert status["classes"]["platinum"]["reclaimed"] == 0 and status["classes"]["vapor"]["reclaimed"] > 0
    assert done.returncode == 0, done.stderr
    assert "mode: reclaim" in done.stdout, done.stdout
    for name, sla_class in classes.items():
        (line,) = [line for line in done.stdout.splitlines() if line.split()[:1] == [name]]
        assert sla_class in line.split() and rows[name]["mode"] in line.split(), (line, done.stdout)
    assert f"Ballooning guest:{vapor} from" in momd.process.log()
    assert f"Ballooning guest:{platinum} from" not in momd.process.log()

    # pressure ends: the guests grow back to full size, and so does their MemTotal
    momd.client.setNamedPolicy("01-parameters", NO_PRESSURE)
    with rs.timed("momd (sla set): gold and vapor grown back to full size"):
        for name in (gold, vapor):
            momd.until(f"{name} grown back", lambda n=name: actual(conn, n) == full[n], 120)
            realstack.wait_mem(name, lambda s, n=name: s.mem_total == baseline[n], timeout=30)
    momd.until("release mode", lambda: momd.client.getSlaStatus()["cycle"]["mode"] in ("release", "hold"), 30)
    assert actual(conn, platinum) == full[platinum]
