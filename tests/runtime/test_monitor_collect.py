"""Monitor.collect(): merging, mandatory and optional fields, errors, history, plot files."""

from __future__ import annotations

import configparser
import logging
import os

from mom.errors import CollectionError, FatalError, HypervisorInterfaceError
from mom.plugins.collectors.base import Collector
from mom.runtime.monitor import Monitor
from mom.runtime.plotter import Plotter, make_plot_subdir


def config(plot_subdir: str = "") -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_dict({"__int__": {"plot-subdir": plot_subdir}})
    return parser


class Fixed(Collector):
    def __init__(self, values, fields=(), optional=()):
        super().__init__({})
        self.values = values
        self.fields = frozenset(fields)
        self.optional_fields = frozenset(optional)

    def collect(self):
        if isinstance(self.values, Exception):
            raise self.values
        return dict(self.values) if self.values is not None else None


def monitor(*collectors, plot_subdir=""):
    m = Monitor(config(plot_subdir), "m1")
    m.collectors = list(collectors)
    return m


def test_merge_order_and_optional_fields():
    m = monitor(
        Fixed({"a": 1, "b": None}, fields=["a", "b"]),
        Fixed({"a": 2, "b": 3, "c": 4}, fields=["a"], optional=["a", "c", "d"]),
    )
    sample = m.collect()
    # an earlier non-None value wins; None is filled by a later collector; missing optional -> None
    assert sample == {"a": 1, "b": 3, "c": 4, "d": None}
    assert m.fields == {"a", "b"} and m.optional_fields == {"c", "d"}
    assert m.isReady()
    entity = m.interrogate()
    assert entity.Stat("a") == 1 and entity.d is None


def test_missing_mandatory_field_is_not_stored(caplog):
    m = monitor(Fixed({"a": 1}, fields=["a", "b"]))
    with caplog.at_level(logging.DEBUG, logger="mom"):
        assert m.collect() is None
        assert m.collect() is None
    assert m.ready is False and len(m.statistics) == 0
    assert m.interrogate() is None
    incomplete = [r for r in caplog.records if "m1: Incomplete data: missing {'b'}" in r.getMessage()]
    assert [r.levelno for r in incomplete] == [logging.INFO, logging.DEBUG]  # loud once


def test_collection_errors_are_isolated(caplog):
    m = monitor(
        Fixed(CollectionError("no data this time"), fields=[]),
        Fixed(HypervisorInterfaceError("libvirt said no"), fields=[]),
        Fixed(ZeroDivisionError("bug"), fields=[]),
        Fixed({"a": 1}, fields=["a"]),
    )
    with caplog.at_level(logging.DEBUG, logger="mom"):
        assert m.collect() == {"a": 1}
    text = caplog.text
    assert "m1: Collection error: no data this time" in text
    assert "m1: Collection error: libvirt said no" in text
    assert "m1: Unexpected collection error in Fixed" in text and "ZeroDivisionError: bug" in text


def test_fatal_error_stops_the_monitor(caplog):
    m = monitor(Fixed({"a": 1}, fields=["a"]))
    m.collect()
    m.collectors.append(Fixed(FatalError("gone for good")))
    with caplog.at_level(logging.ERROR, logger="mom"):
        assert m.collect() is None
    assert m.ready is False and m._terminate
    assert "m1: Fatal Collector error: gone for good" in caplog.text


def test_history_is_trimmed():
    counter = iter(range(100))

    class Counting(Collector):
        fields = frozenset({"n"})

        def collect(self):
            return {"n": next(counter)}

    m = monitor(Counting({}))
    m.history_length = 3
    for _ in range(5):
        m.collect()
    assert [row["n"] for row in m.statistics] == [2, 3, 4]
    assert m.interrogate().StatAvg("n") == 3.0


def test_no_collectors_terminates():
    m = Monitor(config(), "broken")
    m.collectors = None
    assert m.collect() is None and m._terminate


def test_plot_directories_and_files(tmp_path):
    (tmp_path / "momplot-007").mkdir()
    (tmp_path / "momplot-x").mkdir()
    path, warning = make_plot_subdir(str(tmp_path))
    assert warning is None and path == str(tmp_path / "momplot-008")
    m = monitor(Fixed({"b": 2, "a": 1.5}, fields=["a", "b"]), plot_subdir=path)
    m.collect()
    m.collect()
    lines = open(os.path.join(path, "m1.dat")).read().splitlines()
    assert lines[0] == "# time\t a\t b"  # written once
    assert len(lines) == 3
    stamp, a, b = lines[1].split("\t")
    assert float(stamp) > 0 and (a, b) == ("1.5", "2")
    plotter = Plotter(path, "other")
    plotter.setFields(["x"])
    plotter.plot({})
    assert open(os.path.join(path, "other.dat")).read().splitlines()[1].endswith(" Incomplete data set")


def test_plot_dir_problems_are_warnings(tmp_path):
    assert make_plot_subdir("") == ("", None)
    path, warning = make_plot_subdir(str(tmp_path / "missing"))
    assert path == "" and "Cannot read plot-basedir" in warning
    (tmp_path / "momplot-999").mkdir()
    path, warning = make_plot_subdir(str(tmp_path))
    assert path == "" and "maximum number" in warning
