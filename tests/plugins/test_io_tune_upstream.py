"""IO-tune records as upstream's: ``GuestIoTune.IoTune``, value bags with ``.vals``, its texts.

A site collector written for upstream builds records with ``self.IoTune(...)`` and
reads ``self.hypervisor_iface``; policies' error texts name ``IoTune``,
``IoTuneVals`` and the argument ``val`` as upstream's do.
"""

from __future__ import annotations

import copy
import pickle
import textwrap
import xmlrpc.client

import pytest

import mom.Collectors.GuestIoTune
from mom.Controllers.IoTune import IoTune as IoTuneController
from mom.offline import entity_from_spec
from mom.plugins.collectors import io_tune
from mom.plugins.collectors.guest_io_tune import GuestIoTune
from mom.plugins.controllers.io_tune import changed_disks
from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, libvirt_test_host, momd_config, wait_for


def test_the_record_is_nested_in_the_collector_as_upstream():
    upstream = mom.Collectors.GuestIoTune.GuestIoTune
    assert upstream.IoTune is io_tune.DiskIoTune is GuestIoTune.IoTune
    assert upstream.IoTune.IoTuneVals is io_tune.IoTuneVals
    # the fast path imports the old names: the same classes
    assert io_tune.IoTune is io_tune.DiskIoTune and io_tune.ValueBag is io_tune.IoTuneVals
    # the record and the controller are two classes with two names in this package
    assert IoTuneController is not io_tune.DiskIoTune
    assert (io_tune.DiskIoTune.__name__, io_tune.IoTuneVals.__name__) == ("IoTune", "IoTuneVals")


def test_value_bags_keep_their_dict_as_vals():
    limits = {"total_bytes_sec": 5}
    state = {"total_bytes_sec": 0}
    tune = GuestIoTune.IoTune("vda", "/p", {}, limits, state)
    assert tune.maximum.vals is limits and tune.current.vals is state
    assert tune.maximum.total_bytes_sec == 5
    with pytest.raises(AttributeError):
        tune.maximum.read_bytes_sec  # noqa: B018  (absent: AttributeError, as upstream)
    tune.setTotalBytesSec("7")
    tune.setReadIopsSec(None)
    assert state == {"total_bytes_sec": 7, "read_iops_sec": None}
    assert tune.ioTune() == {"name": "vda", "path": "/p", "ioTune": state}
    # a bag stands for its dict (a record built from another's bags shares them)
    again = GuestIoTune.IoTune("vda", "/p", tune.guaranteed, tune.maximum, tune.current)
    assert again.maximum.vals is limits and again.current.vals is state


def test_records_copy_and_pickle():
    tune = GuestIoTune.IoTune("vda", None, {"total_bytes_sec": 1}, {}, {"total_bytes_sec": 0})
    for clone in (copy.deepcopy(tune), pickle.loads(pickle.dumps(tune))):
        assert type(clone) is io_tune.DiskIoTune
        assert clone.ioTune() == tune.ioTune() and clone.guaranteed.vals == {"total_bytes_sec": 1}
    assert repr(tune) == "IoTune('vda', None, current={'total_bytes_sec': 0})"


def entity(records):
    return entity_from_spec({"name": "g1", "stats": [{"io_tune": records, "io_tune_current": [{}]}]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "(with guest.io_tune t (t.setTotalBytesSec))",
            "GuestIoTune.IoTune.setTotalBytesSec() missing 1 required positional argument: 'val'",
        ),
        (
            "(with guest.io_tune t (t.setWriteIopsSec 1 2))",
            "GuestIoTune.IoTune.setWriteIopsSec() takes 2 positional arguments but 3 were given",
        ),
        ("(with guest.io_tune t (+ t.maximum 1))", "unsupported operand type(s) for +: 'IoTuneVals' and 'int'"),
        ("(with guest.io_tune t (- t 1))", "unsupported operand type(s) for -: 'IoTune' and 'int'"),
        ('(guest.Control "balloon_target")', "Entity.Control() missing 1 required positional argument: 'val'"),
        ('(guest.SetVar "x")', "Entity.SetVar() missing 1 required positional argument: 'val'"),
    ],
)
def test_error_texts_are_upstreams(impl, text, message):
    guest = entity([GuestIoTune.IoTune("vda", "/p", {}, {"total_bytes_sec": 9}, {})])
    with pytest.raises(TypeError) as caught:
        impl.compile_policy(text).execute({"guest": guest})
    assert str(caught.value) == message


class FakeInterface:
    """What a site collector asks of the hypervisor interface."""

    def __init__(self) -> None:
        self.states = {"u1": [{"name": "vda", "path": "/images/g1.img", "ioTune": {"total_bytes_sec": 0}}]}

    def getVmIoTune(self, uuid):
        return self.states[uuid]


class SiteIoTune(GuestIoTune):
    """Written as for upstream: the site's own limits, the interface's current state."""

    def collect(self):
        records, current = [], []
        for state in self.hypervisor_iface.getVmIoTune(self.uuid):
            records.append(self.IoTune(state["name"], state["path"], {}, {"total_bytes_sec": 5000}, state["ioTune"]))
            current.append(copy.deepcopy(state))
        return {"io_tune": records, "io_tune_current": current}


def test_an_upstream_style_site_collector_in_a_policy(impl):
    iface = FakeInterface()
    sample = SiteIoTune({"hypervisor_iface": iface, "uuid": "u1", "name": "g1"}).collect()
    guest = entity_from_spec({"name": "g1", "stats": [sample]})
    # (a policy follows one level of attributes: t.maximum.total_bytes_sec reads t.maximum)
    program = impl.compile_policy(
        "(with guest.io_tune t { (defvar now t.current) (defvar most t.maximum) "
        "(if (< now.total_bytes_sec most.total_bytes_sec) (t.setTotalBytesSec most.total_bytes_sec) 0) })"
    )
    program.execute({"guest": guest})
    assert iface.states["u1"][0]["ioTune"] == {"total_bytes_sec": 5000}  # the state dict itself, as upstream
    assert changed_disks(guest) == [{"name": "vda", "path": "/images/g1.img", "ioTune": {"total_bytes_sec": 5000}}]


SITE_COLLECTOR = """
    import copy

    from mom.Collectors.GuestIoTune import GuestIoTune

    class SiteIoTune(GuestIoTune):
        '''IO limits from the site's table, not from vdsm: upstream's API only.'''
        MAXIMUM = {'total_bytes_sec': 5000000, 'total_iops_sec': 400}

        def getFields(self):
            return set(['io_tune', 'io_tune_current'])

        def collect(self):
            states = self.hypervisor_iface.getVmIoTune(self.uuid) or []
            records = [self.IoTune(s['name'], s['path'], {}, dict(self.MAXIMUM), s['ioTune']) for s in states]
            return {'io_tune': records, 'io_tune_current': [copy.deepcopy(s) for s in states]}
"""

RAISE_TO_MAXIMUM = """
(with Guests guest (with guest.io_tune t {
    (defvar most t.maximum)
    (t.setTotalBytesSec most.total_bytes_sec)
    (t.setTotalIopsSec most.total_iops_sec)
}))
"""


def test_momd_runs_an_upstream_style_io_tune_collector(tmp_path):
    """A real momd on libvirt's test driver loads the site collector from PYTHONPATH;
    its records go through the policy and the IoTune controller to libvirt."""
    site = tmp_path / "site" / "mom" / "Collectors"
    site.mkdir(parents=True)
    (site / "SiteIoTune.py").write_text(textwrap.dedent(SITE_COLLECTOR))
    host_xml = tmp_path / "host.xml"
    # the test driver accepts limits only under their *_max
    libvirt_test_host(
        str(host_xml),
        2,
        iotune="<total_bytes_sec_max>100000000</total_bytes_sec_max><total_iops_sec_max>100000</total_iops_sec_max>",
    )
    (tmp_path / "io.policy").write_text(RAISE_TO_MAXIMUM)
    sock = str(tmp_path / "mom.sock")
    momd_config(
        f"test://{host_xml}",
        tmp_path / "mom.conf",
        interval="0.3",
        rpc_port=sock,
        host="HostMemory",
        guest="GuestMemoryOptional, SiteIoTune",
        main={"controllers": "IoTune", "policy": str(tmp_path / "io.policy")},
    )
    with MomdProcess(
        str(tmp_path / "mom.conf"), str(tmp_path / "momd.log"), env={"PYTHONPATH": str(tmp_path / "site")}
    ) as process:
        client = UnixXmlRpcClient(sock, 5)
        process.wait_answering(client.ping)

        def raised() -> bool:
            try:
                guests = client.getStatistics()["guests"]
            except xmlrpc.client.Fault:
                return False
            limits = [g.get("io_tune_current") for g in guests.values()]
            return len(limits) == 2 and all(
                entry
                and entry[0]["ioTune"]["total_bytes_sec"] == 5000000
                and entry[0]["ioTune"]["total_iops_sec"] == 400
                for entry in limits
            )

        # read back from libvirt by the next collection: the controller sent them
        wait_for(raised, 30, what=lambda: process.log()[-3000:])
        assert process.stop() == 0
    log = process.log()
    assert "Setting IO tune of guest vm0000" in log and "Setting IO tune of guest vm0001" in log
    assert "Traceback" not in log and "Policy error" not in log


def test_a_site_collector_keeps_attributes_of_its_own_beside_the_slots():
    """GuestIoTune keeps its own attributes in slots (a batched round reads them); a
    site's subclass still sets, reads, deletes and copies any attribute, the slotted
    ones included, as upstream's (a plain object with a __dict__)."""

    class Noting(SiteIoTune):
        def __init__(self, properties):
            super().__init__(properties)
            self.seen = 0
            self.uuid = properties["uuid"].upper()  # a slot, set again

    iface = FakeInterface()
    iface.states["U1"] = iface.states["u1"]
    collector = Noting({"hypervisor_iface": iface, "uuid": "u1", "name": "g1"})
    collector.seen += 1
    assert collector.seen == 1 and vars(collector) == {"properties": collector.properties, "seen": 1}
    assert collector.uuid == "U1" and collector.collect()["io_tune"][0].path == "/images/g1.img"
    again = copy.copy(collector)
    assert again.uuid == "U1" and again.seen == 1 and again.hypervisor_iface is iface
    del collector._sample
    assert not hasattr(collector, "_sample")
