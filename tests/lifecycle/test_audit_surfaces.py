"""What shows the audit: getActions (MOMFuncs), momctl's format, the Prometheus counters; the config keys."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest

from mom.cli.momctl import format_actions
from mom.config import Settings, load_config
from mom.errors import ConfigError
from mom.metrics import Metrics
from mom.plugins.controllers.lifecycle import Lifecycle
from mom.rpc.api import MOMFuncs
from mom.sla.state import StateFile
from tests.lifecycle.fakes import GIB, Clock, FakeLibvirt, FakeVdsm, guest, host


def controller_with_actions(iface=None):
    settings = dataclasses.replace(Settings(), lifecycle_actions="on", migration_peers=("qemu+ssh://b/system",))
    controller = Lifecycle(
        {
            "hypervisor_iface": iface or FakeLibvirt(),
            "settings": settings,
            "sla_registry": SimpleNamespace(state=StateFile("")),
        },
        clock=Clock(),
    )
    guests = [guest("p", "u-p", "platinum"), guest("v", "u-v", "vapor"), guest("s", "u-s", "standard")]
    guests[0].Control("power", "off")
    guests[1].Control("power", "off")
    guests[2].Control("migrate", 1)
    controller.process(host(1 * GIB), guests)
    controller.power_worker.wait_idle(5)
    controller.migration_worker.wait_idle(5)
    return controller


def test_get_actions_over_the_api_and_without_the_controller():
    controller = controller_with_actions()
    funcs = MOMFuncs(None, {"policy_engine": SimpleNamespace(controllers=[object(), controller])})
    answer = funcs.getActions(2)
    assert answer["mode"] == "on" and len(answer["actions"]) == 2
    assert all(isinstance(a["time"], float) for a in answer["actions"])
    none = MOMFuncs(None, {"policy_engine": SimpleNamespace(controllers=[])}).getActions()
    assert none["mode"] == "not loaded" and none["actions"] == []


def test_momctl_format():
    text = format_actions(controller_with_actions().rpc_get_actions())
    assert text.splitlines()[0] == "lifecycle-actions: on"
    assert "  p  power-off (shutdown)  refused: class platinum is never powered off or migrated  [policy asked" in text
    assert "  v  power-off (shutdown)  done: shut down by ACPI" in text
    assert "stopped by momd: v u-v (vapor, shutdown)" in text
    assert format_actions({"mode": "off", "actions": []}).splitlines() == ["lifecycle-actions: off", "no actions"]


def test_prometheus_counters_by_action_and_result():
    metrics = Metrics("vdsmjsonrpcclient")
    controller = controller_with_actions(FakeVdsm())
    metrics.watch(None, None, [controller])
    text = generate_latest(metrics.registry).decode()
    assert 'mom_lifecycle_actions_total{action="power-off",result="refused"} 1.0' in text
    assert 'mom_lifecycle_actions_total{action="power-off",result="done"} 1.0' in text
    assert 'mom_lifecycle_actions_total{action="migrate",result="recommended"} 1.0' in text
    assert 'mom_lifecycle_actions_total{action="restore",result="done"} 0.0' in text
    assert 'mom_lifecycle_recommendation{guest="s",peer=""} 1.0' in text
    assert "mom_lifecycle_stopped_guests 0.0" in text  # vdsm: the engine restarts it, not momd


def test_config_keys_defaults_and_errors(tmp_path):
    settings = load_config("").settings
    assert (settings.lifecycle_actions, settings.vapor_action, settings.power_off_interval) == ("off", "shutdown", 60)
    conf = tmp_path / "mom.conf"
    conf.write_text(
        "[lifecycle]\nlifecycle-actions = log-only\npressure-threshold = 15%\n"
        "[migration]\npeers = qemu+ssh://a/system, qemu+ssh://b/system\n"
    )
    settings = load_config(str(conf)).settings
    assert settings.lifecycle_actions == "log-only" and settings.pressure_threshold == 0.15
    assert settings.migration_peers == ("qemu+ssh://a/system", "qemu+ssh://b/system")
    conf.write_text("[lifecycle]\nlifecycle-actions = yes\n")
    with pytest.raises(
        ConfigError, match=r"\[lifecycle\] lifecycle-actions = 'yes': expected one of off, log-only, on"
    ):
        load_config(str(conf))


@pytest.mark.parametrize("key", ["power-off", "migrate"])
@pytest.mark.parametrize("name", ["platinum", "gold"])
def test_platinum_and_gold_cannot_be_configured_expendable(tmp_path, name, key):
    conf = tmp_path / "mom.conf"
    conf.write_text(f"[sla-class {name}]\n{key} = true\n")
    with pytest.raises(ConfigError, match=f"class {name} is never powered off or migrated"):
        load_config(str(conf))


def test_other_classes_take_the_keys(tmp_path):
    conf = tmp_path / "mom.conf"
    conf.write_text("[sla-class compute]\npower-off = yes\n[sla-class vapor]\nmigrate = no\n")
    classes = load_config(str(conf)).settings.sla.classes
    assert classes["compute"].power_off and not classes["vapor"].migrate
