"""Monitor: the recent statistics of the host or of one guest (upstream ``mom.Monitor``).

A monitor runs its collectors, keeps the last ``sample-history-length`` samples and
hands the policy engine an :class:`~mom.runtime.entity.Entity` built from them.  The
constructor reads nothing but ``[__int__] plot-subdir`` from the configuration, which
is all vdsm's offline policy validator provides.

Every collector error is caught and logged with the monitor's name: a
``CollectionError`` (or a hypervisor error) skips that collector this time, a
``FatalError`` stops the monitor, anything else is logged with its traceback.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from operator import attrgetter
from typing import Any

from mom.errors import CollectionError, FatalError, HypervisorInterfaceError
from mom.runtime.entity import Entity
from mom.runtime.table import SampleTable

__all__ = ["Monitor", "READY_OF", "ROW_OF", "TERMINATING"]

#: a monitor's readiness, row and stop flag, read in C-level passes over many monitors
READY_OF, ROW_OF, TERMINATING = attrgetter("ready"), attrgetter("row"), attrgetter("_terminate")


class Monitor:
    """Statistics history plus the collectors that feed it."""

    # What a batched round reads of a thousand monitors, every round, in C-level
    # walks (mom/_fastpath/walks.pyx reads a slot in place): slots; anything else a
    # monitor or a site's subclass keeps goes in its __dict__ as before.
    # (not ``name``: a site's monitor that is also a threading.Thread names its thread
    # with it, through Thread's property)
    __slots__ = (
        "table",
        "row",
        "variables",
        "fields",
        "optional_fields",
        "collectors",
        "plotter",
        "ready",
        "_terminate",
        "__dict__",
        "__weakref__",
    )

    def __init__(self, config: Any, name: str) -> None:
        self.properties: dict[str, Any] = {}
        self._statistics: deque[dict[str, Any]] = deque()
        #: the column store row holding this monitor's samples, once attached
        self.table: SampleTable | None = None
        self.row = -1
        self.variables: dict[str, Any] = {}
        self.name = name
        #: mandatory and optional field names, known after the first collection
        self.fields: set[str] | None = None
        self.optional_fields: Any = None
        self.collectors: list[Any] | None = []
        self.logger = logging.getLogger("mom.Monitor")
        self.data_lock = threading.Lock()
        self.plotter: Any = None
        plot_dir = config.get("__int__", "plot-subdir") if config is not None else ""
        if plot_dir:
            from mom.runtime.plotter import Plotter

            self.plotter = Plotter(plot_dir, name)
        self.ready: bool | None = None
        self._terminate = False
        #: samples kept (``sample-history-length``; the daemon's monitors set it)
        self.history_length = 10

    def attach(self, table: SampleTable, row: int) -> None:
        """Keep the samples in ``table`` (a row of the daemon's column store)."""
        self.table = table
        self.row = row
        table.properties[row] = self.properties
        if self.fields is not None:
            table.declare(self.valid_fields)
        for sample in self._statistics:
            table.append(row, sample)
        self._statistics.clear()

    @property
    def statistics(self) -> Any:
        """The samples, oldest first (a deque, or the table row's samples)."""
        if self.table is not None:
            return self.table.view(self.row).statistics
        return self._statistics

    @statistics.setter
    def statistics(self, value: Any) -> None:
        self._statistics = value

    @property
    def valid_fields(self) -> set[str]:
        """Mandatory and optional fields (``optional_fields`` may be a list)."""
        return set(self.fields or ()) | set(self.optional_fields or ())

    # ## Collection

    def collect(self) -> dict[str, Any] | None:
        """Run every collector once, merge, store and plot the sample; None if unusable."""
        collectors = self.collectors
        if collectors is None:
            self._set_not_ready("no collectors (initialization failed)", logging.ERROR)
            self.terminate()
            return None
        optional = self.known_fields(collectors)
        data: dict[str, Any] = {}
        for collector in collectors:
            try:
                values = collector.collect()
            except (CollectionError, HypervisorInterfaceError) as error:
                message = getattr(error, "msg", None) or str(error)
                level = logging.WARNING if self.ready is not False else logging.DEBUG
                self.logger.log(level, "%s: Collection error: %s", self.name, message)
                continue
            except FatalError as error:
                self._set_not_ready(f"Fatal Collector error: {error.msg}", logging.ERROR)
                self.terminate()
                return None
            except Exception:
                self.logger.exception("%s: Unexpected collection error in %s", self.name, type(collector).__name__)
                continue
            if values is None:
                self.logger.debug("%s: %s returned no data", self.name, type(collector).__name__)
                continue
            if not data.keys().isdisjoint(values):
                for key, value in values.items():
                    if data.get(key) is None:  # an earlier non-None value wins
                        data[key] = value
            else:
                data.update(values)
        if not data.keys() >= self.fields:
            missing = self.fields - set(data)
            self._set_not_ready("Incomplete data: missing %s" % missing, logging.INFO)
            return None
        for key in optional:
            if key not in data:
                data[key] = None
        table = self.table
        if table is not None:
            with table.lock:
                if self._terminate:  # the row may already belong to another guest
                    return None
                table.append(self.row, data)
        else:
            with self.data_lock:
                self._statistics.append(data)
                while len(self._statistics) > self.history_length:
                    self._statistics.popleft()
        self.became_ready()
        if self.plotter is not None:
            self.plotter.plot(data)
        return data

    def known_fields(self, collectors: list[Any]) -> set[str]:
        """The optional fields (a set without the mandatory ones), ``fields`` and
        ``optional_fields`` asked of the collectors the first time (and declared)."""
        if self.fields is None:
            fields: set[str] = set()
            optional: set[str] = set()
            for collector in collectors:
                fields |= set(collector.getFields())
                optional |= set(collector.getOptionalFields())
            self.fields = fields
            self.optional_fields = optional
            if self.table is not None:  # policies see these fields only
                self.table.declare(fields | optional)
            if self.plotter is not None:
                self.plotter.setFields(fields | optional)
        optional = self.optional_fields
        if type(optional) is not set or not optional.isdisjoint(self.fields):
            optional = self.optional_fields = set(optional or ()) - self.fields
        return optional

    def became_ready(self) -> None:
        """A sample of this monitor was stored."""
        if self.ready is not True:
            self.logger.info("%s is ready", self.name)
        self.ready = True

    def _set_not_ready(self, message: str, level: int) -> None:
        # loud on the transition, quiet while it stays not ready
        if self.ready is False:
            level = logging.DEBUG
        self.ready = False
        self.logger.log(level, "%s: %s", self.name, message)

    def isReady(self) -> bool:
        return bool(self.ready)

    def interrogate(self) -> Entity | None:
        """An entity built from the current history, or None unless ready.

        Attached to a table, the entity is the row's view (readers such as the RPC's
        getStatistics see the samples; nothing is reset: see :meth:`cycle_entity`).
        """
        if self.ready is not True:
            return None
        table = self.table
        if table is not None:
            return table.view(self.row)
        return self._fresh_entity()

    def cycle_entity(self) -> Entity | None:
        """The entity a policy cycle evaluates: as :meth:`interrogate`, but starting the
        cycle (no controls, the monitor's variables), as upstream's fresh entity does."""
        if self.ready is not True:
            return None
        table = self.table
        if table is not None:
            with table.lock:
                table.clear_controls([self.row])
                table.variables[self.row] = dict(self.variables)
                return table.view(self.row)
        return self._fresh_entity()

    def _fresh_entity(self) -> Entity:
        with self.data_lock:
            entity = Entity(monitor=self)
            entity.properties = dict(self.properties)
            entity.variables = dict(self.variables)
            entity.statistics = list(self.statistics)
        entity._finalize()
        return entity

    def terminate(self) -> None:
        self._terminate = True
