"""Configuration: one declarative option table, upstream's file format, typed settings.

``OPTIONS`` lists every section and key upstream MOM 0.6.5 reads, with upstream's
defaults, plus this project's few additions (marked ``extension``).  The file is read
with :mod:`configparser` exactly as upstream does (default interpolation, ``[Collector:
Name]`` sections read raw), so existing ``mom.conf`` files load unchanged.  The result
is validated once into a frozen :class:`Settings` that is passed down by constructor;
the raw :class:`~configparser.ConfigParser` is kept too, because upstream plugins take it.

A bad value is a :class:`~mom.errors.ConfigError` naming the file, section, key, value
and the expected type; an unknown key or section is a warning (returned, so the caller
logs it once logging is configured).
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from mom.errors import ConfigError
from mom.log import VERBOSITY_LEVELS
from mom.policy_sets import missing_reason, resolve_policy_dir
from mom.sla.config import SlaConfig, is_sla_section, parse_sla_config

__all__ = [
    "Opt",
    "OPTIONS",
    "Settings",
    "LoadedConfig",
    "load_config",
    "new_parser",
    "parse_list",
    "validate",
    "COLLECTOR_SECTION_PREFIX",
    "DEFAULT_CONFIG_FILE",
]

DEFAULT_CONFIG_FILE = "/etc/mom.conf"
#: ``[Collector: GuestQemuAgent]``: per-collector options, read raw
COLLECTOR_SECTION_PREFIX = "Collector: "
#: upstream's internal section, rebuilt by MOM whatever the file says
INTERNAL_SECTION = "__int__"
#: sections not validated here: [vdsm] belongs to the vdsm hypervisor interfaces
IGNORED_SECTIONS = frozenset({"vdsm"})


# ## Value types


def parse_list(text: str) -> tuple[str, ...]:
    """A comma-separated list; entries stripped at both ends, empty ones skipped.

    (Upstream strips only the left side, so ``"HostMemory "`` failed to import.)
    """
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _seconds(text: str) -> int | float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(text)
    return int(value) if value.is_integer() else value


def _count(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError(text)
    return value


def _positive(text: str) -> int:
    value = int(text.strip())
    if value < 1:
        raise ValueError(text)
    return value


_BOOLEANS = configparser.ConfigParser.BOOLEAN_STATES


def _boolean(text: str) -> bool:
    return _BOOLEANS[text.strip().lower()]


def _rpc_port(text: str) -> str:
    text = text.strip()
    try:
        port = int(text)
    except ValueError:
        return text  # a UNIX socket path (or '' = disabled, warned about)
    if port > 65535:
        raise ValueError(text)
    return text


def _percent(text: str) -> float:
    value = float(text)
    if not 0 < value <= 100:
        raise ValueError(text)
    return value


def _metrics_port(text: str) -> int:
    port = int(text.strip())
    if port > 65535:
        raise ValueError(text)
    return port


@dataclass(frozen=True)
class Opt:
    """One option: where it lives, its upstream default text, its type and meaning."""

    attr: str  #: the :class:`Settings` field
    default: str  #: upstream's default, as text (it goes into the ConfigParser)
    convert: Callable[[str], Any]
    expected: str  #: the type, as the error message names it
    help: str
    extension: bool = False  #: not in upstream MOM


_SECONDS = (_seconds, "a positive number of seconds")
_STR = (str, "a string")
_LIST = (parse_list, "a comma-separated list of names")
_BOOL = (_boolean, "a boolean (true/false, yes/no, on/off, 1/0)")
_COUNT = (_count, "a non-negative integer")
_POSITIVE = (_positive, "a positive integer")
#: a directory, or the bare name of a shipped policy set (see mom.policy_sets)
_POLICY_DIR = (resolve_policy_dir, "a directory or a shipped policy set")
_PERCENT = (_percent, "a percentage above 0, at most 100")


def _choice(*allowed: str) -> tuple[Callable[[str], str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(text)
        return value

    return convert, "one of " + ", ".join(allowed)


def _fraction(text: str) -> float:
    """``0.2`` or ``20%``."""
    raw = text.strip()
    value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def _opt(attr: str, default: str, kind: tuple[Callable[[str], Any], str], help: str, extension: bool = False) -> Opt:
    return Opt(attr, default, kind[0], kind[1], help, extension)


#: [lifecycle] and [migration] (issue 12): this project's, all extensions
LIFECYCLE_OPTIONS: dict[tuple[str, str], Opt] = {
    ("lifecycle", "lifecycle-actions"): _opt(
        "lifecycle_actions",
        "off",
        _choice("off", "log-only", "on"),
        "off: no action, requests refused; log-only: audit what would be done; on: act",
        True,
    ),
    ("lifecycle", "vapor-action"): _opt(
        "vapor_action",
        "shutdown",
        _choice("shutdown", "managedsave", "destroy"),
        "how a guest is powered off (libvirt; vdsm: shutdown or destroy)",
        True,
    ),
    ("lifecycle", "shutdown-timeout"): _opt(
        "shutdown_timeout", "120", _SECONDS, "seconds an ACPI shutdown may take before the guest is destroyed", True
    ),
    ("lifecycle", "action-timeout"): _opt(
        "action_timeout", "300", _SECONDS, "seconds any other action (managed save, start) may take", True
    ),
    ("lifecycle", "power-off-interval"): _opt(
        "power_off_interval", "60", _SECONDS, "at most one power-off, and one restore, per this many seconds", True
    ),
    ("lifecycle", "restore-after"): _opt(
        "restore_after", "300", _SECONDS, "seconds memory must stay plentiful before a stopped guest is restarted", True
    ),
    ("lifecycle", "pressure-threshold"): _opt(
        "pressure_threshold",
        "0.20",
        (_fraction, "a fraction (0.2) or a percentage (20%)"),
        "host free memory below this share of its memory is pressure",
        True,
    ),
    ("lifecycle", "pressure-band"): _opt(
        "pressure_band",
        "0.05",
        (_fraction, "a fraction (0.05) or a percentage (5%)"),
        "memory is plentiful above threshold + band",
        True,
    ),
    ("lifecycle", "audit-size"): _opt("audit_size", "100", _POSITIVE, "actions kept for getActions", True),
    ("lifecycle", "vdsm-shutdown-delay"): _opt(
        "vdsm_shutdown_delay", "30", _COUNT, "vdsm VM.shutdown delay (seconds the guest's users are warned)", True
    ),
    ("lifecycle", "vdsm-shutdown-message"): _opt(
        "vdsm_shutdown_message",
        "The host is short of memory: this VM is shut down by MOM",
        _STR,
        "vdsm VM.shutdown message",
        True,
    ),
    ("lifecycle", "vdsm-shutdown-force"): _opt(
        "vdsm_shutdown_force", "true", _BOOL, "vdsm VM.shutdown force (destroy after the timeout)", True
    ),
    ("migration", "peers"): _opt("migration_peers", "", _LIST, "libvirt URIs of the hosts guests may go to", True),
    ("migration", "bandwidth"): _opt("migration_bandwidth", "0", _COUNT, "MiB/s limit of a migration; 0: none", True),
    ("migration", "auto-converge"): _opt(
        "migration_auto_converge", "false", _BOOL, "throttle the guest's vCPUs if it dirties memory too fast", True
    ),
    ("migration", "data-uri"): _opt(
        "migration_data_uri", "", _STR, "where the memory goes (e.g. tcp://10.0.0.2); empty: the peer chooses", True
    ),
    ("migration", "timeout"): _opt(
        "migration_timeout", "300", _SECONDS, "seconds after which a migration is aborted (the guest stays)", True
    ),
}

#: every option: (section, key) -> Opt.  Upstream's defaults exactly (spec 3.2).
OPTIONS: dict[tuple[str, str], Opt] = {
    ("main", "main-loop-interval"): _opt(
        "main_loop_interval", "5", _SECONDS, "how often the main loop checks the threads"
    ),
    ("main", "host-monitor-interval"): _opt(
        "host_monitor_interval", "5", _SECONDS, "seconds between host samples (also the host property 'interval')"
    ),
    ("main", "guest-manager-interval"): _opt(
        "guest_manager_interval", "5", _SECONDS, "seconds between looks for new and vanished guests"
    ),
    ("main", "guest-monitor-interval"): _opt(
        "guest_monitor_interval", "5", _SECONDS, "seconds between guest samples (libvirt's memory-stats period too)"
    ),
    ("main", "policy-engine-interval"): _opt(
        "policy_engine_interval", "10", _SECONDS, "seconds between policy evaluations"
    ),
    ("main", "hypervisor-interface"): _opt(
        "hypervisor_interface", "libvirt", _STR, "hypervisor interface name (lower-cased before use)"
    ),
    ("main", "sample-history-length"): _opt(
        "sample_history_length", "10", _POSITIVE, "samples kept per monitor (for StatAvg)"
    ),
    ("main", "libvirt-hypervisor-uri"): _opt("libvirt_hypervisor_uri", "", _STR, "libvirt URI; empty = default"),
    ("main", "controllers"): _opt("controllers", "Balloon", _LIST, "controller plugins, in order"),
    ("main", "plot-dir"): _opt("plot_dir", "", _STR, "directory for momplot-NNN data files; empty = off"),
    ("main", "rpc-port"): _opt(
        "rpc_port",
        "-1",
        (_rpc_port, "a TCP port (0-65535), a negative number, or a UNIX socket path"),
        "TCP port on localhost, UNIX socket path, or negative to disable RPC",
    ),
    ("main", "policy"): _opt("policy", "", _STR, "one policy file, loaded as '50_main_'"),
    ("main", "policy-dir"): _opt(
        "policy_dir", "", _POLICY_DIR, "directory of *.policy files, or the name of a shipped policy set"
    ),
    ("main", "guest-manager-multi-thread"): _opt(
        "guest_manager_multi_thread", "true", _BOOL, "collect guests on a worker pool (else on the manager thread)"
    ),
    # -- extensions (documented in the README) --
    ("main", "guest-collector-threads"): _opt(
        "guest_collector_threads", "4", _POSITIVE, "worker threads collecting guests in multi-thread mode", True
    ),
    ("main", "rpc-token-file"): _opt(
        "rpc_token_file", "", _STR, "file holding the shared secret TCP clients must send", True
    ),
    ("main", "rpc-token"): _opt("rpc_token", "", _STR, "the TCP shared secret itself (prefer rpc-token-file)", True),
    ("main", "rpc-socket-group"): _opt(
        "rpc_socket_group",
        "",
        _STR,
        "group allowed to use the UNIX socket (mode 0660); empty = owner only (0600)",
        True,
    ),
    ("main", "rpc-max-request-bytes"): _opt(
        "rpc_max_request_bytes", "1048576", _POSITIVE, "largest RPC request body accepted", True
    ),
    ("main", "rpc-request-timeout"): _opt(
        "rpc_request_timeout", "5", _SECONDS, "seconds a client may take to send its request", True
    ),
    ("main", "rpc-workers"): _opt(
        "rpc_workers", "4", _POSITIVE, "worker threads answering complete RPC requests", True
    ),
    ("main", "rpc-max-connections"): _opt(
        "rpc_max_connections", "256", _POSITIVE, "open RPC connections beyond which a new one gets HTTP 503", True
    ),
    ("main", "metrics-port"): _opt(
        "metrics_port",
        "-1",
        (_metrics_port, "a TCP port (0-65535) or a negative number"),
        "serve Prometheus metrics over HTTP on this port (0: any free port); negative = off",
        True,
    ),
    ("main", "metrics-address"): _opt(
        "metrics_address", "127.0.0.1", _STR, "address the metrics endpoint listens on", True
    ),
    ("main", "state-file"): _opt(
        "state_file", "/var/lib/mom/state.json", _STR, "what momd keeps across restarts (SLAs set over RPC)", True
    ),
    # -- safety floors, stuck balloons and pressure (README "Safety floors") --
    ("main", "min-guest-memory"): _opt(
        "min_guest_memory", "262144", _COUNT, "KiB no balloon target goes below (at most the guest's maximum)", True
    ),
    ("main", "min-guest-free"): _opt(
        "min_guest_free", "65536", _COUNT, "KiB a balloon target leaves above what the guest uses now", True
    ),
    ("main", "balloon-max-change-percent"): _opt(
        "balloon_max_change_percent", "10", _PERCENT, "largest balloon change per cycle, % of the guest's maximum", True
    ),
    ("main", "balloon-stuck-after"): _opt(
        "balloon_stuck_after",
        "60",
        _SECONDS,
        "seconds without progress towards its target that make a balloon stuck",
        True,
    ),
    ("main", "balloon-stuck-retry"): _opt(
        "balloon_stuck_retry", "300", _SECONDS, "seconds before a stuck balloon is tried again (doubling)", True
    ),
    ("main", "pressure-trigger"): _opt(
        "pressure_trigger", "true", _BOOL, "wake the policy engine on a PSI memory-stall trigger", True
    ),
    ("main", "pressure-stall-us"): _opt(
        "pressure_stall_us", "150000", _POSITIVE, "microseconds of memory stall per window that fire the trigger", True
    ),
    ("main", "pressure-window-us"): _opt(
        "pressure_window_us",
        "2000000",
        _POSITIVE,
        "the trigger's window, microseconds (0.5-10 s; 2 s steps unprivileged)",
        True,
    ),
    # -- lifecycle actions (issue 12; README "Lifecycle actions") --
    **LIFECYCLE_OPTIONS,
    # -- end lifecycle --
    ("logging", "log"): _opt("log", "stdio", _STR, "'stdio' or a file name (rotated)"),
    ("logging", "verbosity"): _opt("verbosity", "info", _STR, "5/debug 4/info 3/warn 2/error 1/critical"),
    ("logging", "max-bytes"): _opt("log_max_bytes", "2097152", _COUNT, "rotate the log file at this size"),
    ("logging", "backup-count"): _opt("log_backup_count", "5", _COUNT, "rotated log files kept"),
    ("host", "collectors"): _opt("host_collectors", "HostMemory", _LIST, "host collector plugins"),
    ("guest", "collectors"): _opt("guest_collectors", "GuestQemuProc, GuestMemory", _LIST, "guest collector plugins"),
}

#: keys of [vdsm] (vdsm's template has them; the vdsm interfaces read host, port, request-timeout
#: and client-module, see mom.plugins.hypervisors.vdsm_client)
VDSM_KEYS = frozenset(
    {"pki-dir", "key-file", "cert-file", "ca-cert-file", "host", "port", "request-timeout", "client-module"}
)

_KNOWN_SECTIONS = {section for section, _ in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """Validated configuration, passed down by constructor (no globals)."""

    main_loop_interval: int | float = 5
    host_monitor_interval: int | float = 5
    guest_manager_interval: int | float = 5
    guest_monitor_interval: int | float = 5
    policy_engine_interval: int | float = 10
    hypervisor_interface: str = "libvirt"
    sample_history_length: int = 10
    libvirt_hypervisor_uri: str = ""
    controllers: tuple[str, ...] = ("Balloon",)
    plot_dir: str = ""
    rpc_port: str = "-1"
    policy: str = ""
    policy_dir: str = ""
    guest_manager_multi_thread: bool = True
    guest_collector_threads: int = 4
    rpc_token_file: str = ""
    rpc_token: str = ""
    rpc_socket_group: str = ""
    rpc_max_request_bytes: int = 1048576
    rpc_request_timeout: int | float = 5
    rpc_workers: int = 4
    rpc_max_connections: int = 256
    metrics_port: int = -1
    metrics_address: str = "127.0.0.1"
    state_file: str = "/var/lib/mom/state.json"
    min_guest_memory: int = 262144
    min_guest_free: int = 65536
    balloon_max_change_percent: float = 10.0
    balloon_stuck_after: int | float = 60
    balloon_stuck_retry: int | float = 300
    pressure_trigger: bool = True
    pressure_stall_us: int = 150000
    pressure_window_us: int = 2000000
    log: str = "stdio"
    verbosity: str = "info"
    log_max_bytes: int = 2097152
    log_backup_count: int = 5
    host_collectors: tuple[str, ...] = ("HostMemory",)
    guest_collectors: tuple[str, ...] = ("GuestQemuProc", "GuestMemory")
    #: ``[Collector: Name]`` sections, raw: name -> {key: value}
    collector_config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: ``[__int__] plot-subdir``: this run's momplot-NNN directory, or ''
    plot_subdir: str = ""
    #: ``[sla]`` and ``[sla-class NAME]``, validated (see mom.sla.config)
    sla: SlaConfig = field(default_factory=SlaConfig)
    # -- lifecycle actions (issue 12): [lifecycle] and [migration], see LIFECYCLE_OPTIONS --
    lifecycle_actions: str = "off"
    vapor_action: str = "shutdown"
    shutdown_timeout: int | float = 120
    action_timeout: int | float = 300
    power_off_interval: int | float = 60
    restore_after: int | float = 300
    pressure_threshold: float = 0.20
    pressure_band: float = 0.05
    audit_size: int = 100
    vdsm_shutdown_delay: int = 30
    vdsm_shutdown_message: str = "The host is short of memory: this VM is shut down by MOM"
    vdsm_shutdown_force: bool = True
    migration_peers: tuple[str, ...] = ()
    migration_bandwidth: int = 0
    migration_auto_converge: bool = False
    migration_timeout: int | float = 300
    migration_data_uri: str = ""
    # -- end lifecycle --

    def rpc_endpoint(self) -> tuple[str, Any]:
        """``("tcp", port)``, ``("unix", path)`` or ``("off", None)`` from ``rpc-port``."""
        text = self.rpc_port.strip()
        try:
            port = int(text)
        except ValueError:
            return ("unix", text) if text else ("off", None)
        return ("tcp", port) if port >= 0 else ("off", None)

    def read_rpc_token(self) -> str | None:
        """The TCP shared secret, or None when none is configured."""
        if self.rpc_token_file:
            try:
                with open(self.rpc_token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except OSError as error:
                raise ConfigError(
                    f"cannot read [main] rpc-token-file {self.rpc_token_file!r}: {error.strerror}"
                ) from error
            if not token:
                raise ConfigError(f"[main] rpc-token-file {self.rpc_token_file!r} is empty")
            return token
        return self.rpc_token or None


# ## Loading


def new_parser() -> configparser.ConfigParser:
    """A ConfigParser holding every upstream default (and the extensions')."""
    parser = configparser.ConfigParser()
    for (section, key), opt in OPTIONS.items():
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, key, opt.default)
    return parser


@dataclass
class LoadedConfig:
    """What :func:`load_config` produced: the parser, the settings, the warnings."""

    parser: configparser.ConfigParser
    settings: Settings
    warnings: list[str]


def _origins(conf_file: str, overrides: configparser.ConfigParser | None) -> dict[tuple[str, str], str]:
    origins: dict[tuple[str, str], str] = {}
    if conf_file and os.path.exists(conf_file):
        file_parser = configparser.ConfigParser(interpolation=None)
        try:
            file_parser.read(conf_file)
        except configparser.Error as error:
            raise ConfigError(f"{conf_file}: cannot parse: {error}") from error
        for section in file_parser.sections():
            for key in file_parser[section]:
                origins[(section, key)] = conf_file
    if overrides is not None:
        for section in overrides.sections():
            for key in overrides[section]:
                origins[(section, key)] = "overrides"
    return origins


def load_config(conf_file: str, overrides: configparser.ConfigParser | None = None) -> LoadedConfig:
    """Upstream's loading (defaults, file, overrides), then validation.

    A missing file is not an error (upstream ignores it; a warning says so).  Override
    sections the configuration does not have are skipped, as upstream does.
    """
    warnings: list[str] = []
    parser = new_parser()
    if conf_file:
        try:
            read = parser.read(conf_file)
        except configparser.Error as error:
            raise ConfigError(f"{conf_file}: cannot parse: {error}") from error
        if not read:
            warnings.append(f"configuration file '{conf_file}' not found or unreadable; using the defaults")
    origins = _origins(conf_file, overrides)
    if overrides is not None:
        for section in overrides.sections():
            if not parser.has_section(section):
                continue
            for key, value in overrides.items(section, raw=True):
                parser.set(section, key, value)
    settings, more = validate(parser, origins)
    warnings.extend(more)
    return LoadedConfig(parser, settings, warnings)


def validate(
    parser: configparser.ConfigParser, origins: Mapping[tuple[str, str], str] | None = None
) -> tuple[Settings, list[str]]:
    """Check every known key's value and warn about unknown ones; build :class:`Settings`."""
    origins = origins or {}
    warnings: list[str] = []
    values: dict[str, Any] = {}
    for (section, key), opt in OPTIONS.items():
        where = origins.get((section, key), "built-in default")
        try:
            # [lifecycle] and [migration] are read raw: '20%' needs no escaping there
            text = parser.get(section, key, raw=(section, key) in LIFECYCLE_OPTIONS)
        except configparser.Error as error:
            raise ConfigError(
                f"{where}: [{section}] {key}: cannot read the value: {error}".replace("\n", " ")
            ) from error
        try:
            values[opt.attr] = opt.convert(text)
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{where}: [{section}] {key} = {text!r}: expected {opt.expected}") from None
    values["hypervisor_interface"] = values["hypervisor_interface"].strip().lower()
    collector_config: dict[str, dict[str, str]] = {}
    sla_sections: dict[str, dict[str, str]] = {}
    for section in parser.sections():
        if section.startswith(COLLECTOR_SECTION_PREFIX):
            name = section[len(COLLECTOR_SECTION_PREFIX) :].strip()
            collector_config[name] = dict(parser.items(section, raw=True))
            continue
        if section == INTERNAL_SECTION:
            continue
        if is_sla_section(section):  # read raw ('75%'), checked by parse_sla_config below
            defaults = parser.defaults()
            sla_sections[section] = {k: v for k, v in parser.items(section, raw=True) if k not in defaults}
            continue
        if section in IGNORED_SECTIONS:
            unknown = [key for key in parser[section] if key not in VDSM_KEYS and key not in parser.defaults()]
        elif section in _KNOWN_SECTIONS:
            unknown = [key for key in parser[section] if (section, key) not in OPTIONS and key not in parser.defaults()]
        else:
            where = _where(origins, section)
            warnings.append(f"unknown section '{section}' in '{where}' (ignored)")
            continue
        for key in unknown:
            where = origins.get((section, key), "overrides")
            warnings.append(f"unknown option '{key}' in section '{section}' of '{where}' (ignored)")
    values["collector_config"] = collector_config
    values["sla"], sla_warnings = parse_sla_config(
        sla_sections, lambda section, key: origins.get((section, key)) or _where(origins, section)
    )
    warnings.extend(sla_warnings)
    if parser.has_section(INTERNAL_SECTION) and parser.has_option(INTERNAL_SECTION, "plot-subdir"):
        values["plot_subdir"] = parser.get(INTERNAL_SECTION, "plot-subdir", raw=True)
    settings = Settings(**values)
    # a bare name that is no directory is most likely a mistyped set: upstream's
    # "Unable to read directory" follows at load time, this says what would have worked
    missing_set = missing_reason(parser.get("main", "policy-dir"))
    if missing_set:
        warnings.append(f"[main] policy-dir {missing_set}")
    if values["rpc_port"].strip() == "":
        warnings.append("[main] rpc-port is empty: the RPC server is disabled")
    if values["verbosity"].strip().lower() not in VERBOSITY_LEVELS:
        warnings.append(f"[logging] verbosity {values['verbosity']!r} is not a known level; using debug (as upstream)")
    return settings, warnings


def _where(origins: Mapping[tuple[str, str], str], section: str) -> str:
    for (origin_section, _), where in origins.items():
        if origin_section == section:
            return where
    return "overrides"


def settings_fields() -> set[str]:
    """The :class:`Settings` fields that come from :data:`OPTIONS` (for the tests)."""
    return {f.name for f in dataclasses.fields(Settings)} - {"collector_config", "plot_subdir", "sla"}
