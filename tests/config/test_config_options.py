"""The option table, upstream's file format and defaults, validation messages."""

from __future__ import annotations

import configparser
import dataclasses
import logging

import pytest

from mom.config import OPTIONS, Settings, load_config, new_parser, parse_list, settings_fields
from mom.errors import ConfigError
from mom.log import LOG_FORMAT, configure, remove_handler, verbosity_level
from tests.shared_data import shared_path

VDSM_CONF = str(shared_path("data", "vdsm", "mom.conf.in"))
DOC_CONF = str(shared_path("data", "mom-doc", "mom-balloon+ksm.conf"))

# spec 3.2, verbatim
UPSTREAM_DEFAULTS = {
    ("main", "main-loop-interval"): "5",
    ("main", "host-monitor-interval"): "5",
    ("main", "guest-manager-interval"): "5",
    ("main", "guest-monitor-interval"): "5",
    ("main", "policy-engine-interval"): "10",
    ("main", "hypervisor-interface"): "libvirt",
    ("main", "sample-history-length"): "10",
    ("main", "libvirt-hypervisor-uri"): "",
    ("main", "controllers"): "Balloon",
    ("main", "plot-dir"): "",
    ("main", "rpc-port"): "-1",
    ("main", "policy"): "",
    ("main", "policy-dir"): "",
    ("main", "guest-manager-multi-thread"): "true",
    ("logging", "log"): "stdio",
    ("logging", "verbosity"): "info",
    ("logging", "max-bytes"): "2097152",
    ("logging", "backup-count"): "5",
    ("host", "collectors"): "HostMemory",
    ("guest", "collectors"): "GuestQemuProc, GuestMemory",
}


def write(tmp_path, text: str) -> str:
    path = tmp_path / "mom.conf"
    path.write_text(text)
    return str(path)


def test_every_upstream_key_has_upstream_default():
    for key, default in UPSTREAM_DEFAULTS.items():
        assert OPTIONS[key].default == default, key
        assert not OPTIONS[key].extension
    extensions = {key for key, opt in OPTIONS.items() if opt.extension}
    assert extensions == set(OPTIONS) - set(UPSTREAM_DEFAULTS)
    # this project's sections: [main] extensions, [lifecycle] and [migration] (issue 12)
    assert all(section in ("main", "lifecycle", "migration") for section, _ in extensions)


def test_settings_fields_match_the_table():
    assert {opt.attr for opt in OPTIONS.values()} == settings_fields()
    # the dataclass defaults are the table's defaults, converted
    defaults = Settings()
    for opt in OPTIONS.values():
        assert getattr(defaults, opt.attr) == opt.convert(opt.default), opt.attr


def test_defaults_without_a_file():
    loaded = load_config("")
    assert loaded.settings == Settings()
    assert loaded.warnings == []
    assert loaded.parser.get("guest", "collectors") == "GuestQemuProc, GuestMemory"


def test_missing_file_is_ignored_with_a_warning(tmp_path):
    loaded = load_config(str(tmp_path / "absent.conf"))
    assert loaded.settings == Settings()
    assert "not found" in loaded.warnings[0]


def test_vdsm_template_loads(tmp_path):
    loaded = load_config(VDSM_CONF)
    settings = loaded.settings
    assert settings.main_loop_interval == 15
    assert settings.hypervisor_interface == "vdsmjsonrpcclient"
    assert settings.controllers == ("Balloon", "KSM", "CpuTune", "IoTune")
    assert settings.host_collectors == ("HostMemory", "HostKSM", "HostCpu")
    assert settings.guest_collectors == (
        "GuestMemoryOptional",
        "GuestBalloonOptional",
        "GuestCpuTune",
        "GuestIoTuneOptional",
    )
    assert settings.rpc_endpoint() == ("unix", "@VDSMRUNDIR@/mom-vdsm.sock")
    # [vdsm] is accepted and ignored: no warning
    assert loaded.warnings == []


def test_upstream_doc_config_with_collector_sections():
    loaded = load_config(DOC_CONF)
    assert loaded.warnings == []
    # read raw: %(name)s is not interpolated
    assert loaded.settings.collector_config["GuestQemuAgent"]["socket_name_template"] == "%(name)s.agent"
    assert loaded.settings.collector_config["GuestQemuAgent"]["socket_path"] == "/var/lib/libvirt/qemu"


def test_bad_value_names_file_section_key_value_and_type(tmp_path):
    path = write(tmp_path, "[main]\nhost-monitor-interval: often\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert path in message
    assert "[main] host-monitor-interval = 'often'" in message
    assert "expected a positive number of seconds" in message


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("main", "sample-history-length", "0", "a positive integer"),
        ("main", "guest-manager-multi-thread", "perhaps", "a boolean"),
        ("logging", "max-bytes", "-1", "a non-negative integer"),
        ("main", "rpc-port", "70000", "a TCP port"),
        ("main", "policy-engine-interval", "-3", "seconds"),
    ],
)
def test_bad_values(tmp_path, section, key, value, expected):
    path = write(tmp_path, f"[{section}]\n{key}: {value}\n")
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_bad_override_is_attributed_to_the_overrides(tmp_path):
    overrides = configparser.ConfigParser()
    overrides.read_dict({"main": {"main-loop-interval": "x"}})
    with pytest.raises(ConfigError, match=r"^overrides: \[main\] main-loop-interval = 'x'"):
        load_config("", overrides)


def test_unknown_key_and_section_are_warnings(tmp_path):
    path = write(tmp_path, "[main]\nhost-monitor-intreval: 3\n[hots]\ncollectors: HostMemory\n")
    loaded = load_config(path)
    assert f"unknown option 'host-monitor-intreval' in section 'main' of '{path}' (ignored)" in loaded.warnings
    assert f"unknown section 'hots' in '{path}' (ignored)" in loaded.warnings


def test_overrides_apply_to_existing_sections_only(tmp_path):
    path = write(tmp_path, "[main]\npolicy-engine-interval: 7\n")
    overrides = configparser.ConfigParser()
    overrides.read_dict({"main": {"policy": "/x.policy"}, "nosuch": {"a": "b"}, "logging": {"verbosity": "debug"}})
    loaded = load_config(path, overrides)
    assert loaded.settings.policy == "/x.policy"
    assert loaded.settings.policy_engine_interval == 7
    assert loaded.settings.verbosity == "debug"
    assert not loaded.parser.has_section("nosuch")


def test_lists_strip_both_ends_and_skip_empty_entries():
    assert parse_list(" HostMemory ,HostKSM,, HostCpu ") == ("HostMemory", "HostKSM", "HostCpu")


def test_hypervisor_name_is_lower_cased(tmp_path):
    assert (
        load_config(write(tmp_path, "[main]\nhypervisor-interface: LibVirt\n")).settings.hypervisor_interface
        == "libvirt"
    )


def test_fractional_intervals_are_an_extension(tmp_path):
    settings = load_config(write(tmp_path, "[main]\nhost-monitor-interval: 0.5\n")).settings
    assert settings.host_monitor_interval == 0.5


@pytest.mark.parametrize(
    "value, endpoint",
    [
        ("-1", ("off", None)),
        ("8989", ("tcp", 8989)),
        ("0", ("tcp", 0)),
        ("/run/m.sock", ("unix", "/run/m.sock")),
        ("", ("off", None)),
    ],
)
def test_rpc_endpoint(value, endpoint):
    assert Settings(rpc_port=value).rpc_endpoint() == endpoint


def test_token_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert Settings(rpc_token_file=str(token)).read_rpc_token() == "s3cret"
    assert Settings(rpc_token="inline").read_rpc_token() == "inline"
    assert Settings().read_rpc_token() is None
    with pytest.raises(ConfigError, match="cannot read"):
        Settings(rpc_token_file=str(tmp_path / "none")).read_rpc_token()


def test_parser_defaults_are_strings_like_upstream():
    parser = new_parser()
    assert parser.getint("main", "rpc-port") == -1
    assert parser.getboolean("main", "guest-manager-multi-thread") is True


def test_settings_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().policy = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "verbosity, level",
    [
        ("5", logging.DEBUG),
        ("debug", logging.DEBUG),
        ("4", logging.INFO),
        ("INFO", logging.INFO),
        ("3", logging.WARNING),
        ("warn", logging.WARNING),
        ("2", logging.ERROR),
        ("error", logging.ERROR),
        ("1", logging.CRITICAL),
        ("critical", logging.CRITICAL),
        ("loud", logging.DEBUG),
        ("warning", logging.DEBUG),
    ],
)
def test_verbosity_levels(verbosity, level):
    assert verbosity_level(verbosity) == level


def test_logging_to_a_rotating_file(tmp_path):
    path = tmp_path / "mom.log"
    handler = configure(str(path), "info", 200, 2)
    try:
        logger = logging.getLogger("mom.test")
        for index in range(20):
            logger.info("line %d of the log", index)
        logger.debug("not written")
    finally:
        remove_handler(handler)
    assert logging.getLogger("mom").propagate is False
    text = path.read_text()
    assert "mom.test - INFO - line 19 of the log" in text
    assert "not written" not in text
    assert (tmp_path / "mom.log.1").exists() and (tmp_path / "mom.log.2").exists()
    assert not (tmp_path / "mom.log.3").exists()
    assert LOG_FORMAT == "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
