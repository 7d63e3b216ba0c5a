"""GuestIoTune: a guest's disk IO limits matched to its IO policy, as DiskIoTune records."""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

from mom.dsl.sandbox import MISSING
from mom.plugins.collectors import io_tune
from mom.plugins.collectors.base import Collector, all_share, uuids_of
from mom.plugins.collectors.io_tune import DiskIoTune
from mom.plugins.collectors.walks import attrs_are, holds

__all__ = ["GuestIoTune", "GuestIoTuneOptional", "match_io_tunes"]

_FIELDS = frozenset({"io_tune", "io_tune_current"})


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _deep_copy(value: Any) -> Any:
    """copy.deepcopy for the plain dicts, lists and scalars a state is made of, several
    times faster (it runs for every disk of every guest, every round)."""
    kind = type(value)
    if kind is dict:
        result = dict(value)
        for key, item in result.items():
            if type(item) not in _SCALARS:
                result[key] = _deep_copy(item)  # replaces a value: the dict's size stays
        return result
    if kind is list:
        return [item if type(item) in _SCALARS else _deep_copy(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def match_io_tunes(
    policies: list[Mapping[str, Any]], states: list[dict[str, Any]], record: Callable[..., Any] = DiskIoTune
) -> dict[str, Any] | None:
    """``{'io_tune': [record...], 'io_tune_current': [deep copies]}``, or None if either is empty.

    :param record: the record class (a collector's ``IoTune``)
    """
    if not policies or not states:
        return None
    tunes = []
    current = []
    for policy in policies:
        policy_path = policy.get("path")
        policy_name = policy.get("name")
        for state in states:
            # by path; by name when either path is unknown
            state_path = state.get("path")
            if policy_path is None or state_path is None:
                if policy_name != state.get("name"):
                    continue
            elif policy_path != state_path:
                continue
            if "ioTune" not in state:
                state["ioTune"] = {}
            limits = state["ioTune"]
            tunes.append(
                record(
                    state.get("name"),
                    state_path,
                    # the policy's own dicts: a record only reads them (no setter, and
                    # policies reach an IoTuneVals' values only by name)
                    policy.get("guaranteed") or {},
                    policy.get("maximum") or {},
                    limits,  # the state's dict itself: setters write into it
                )
            )
            current.append(_deep_copy(state))
            break
    return {"io_tune": tunes, "io_tune_current": current}


def _unchanged(sample: dict[str, Any] | None) -> bool:
    """No policy's setter changed the sample's records since they were collected."""
    if sample is None:
        return True
    if io_tune.disks_unchanged(sample["io_tune"], sample["io_tune_current"]):
        return True  # the usual case, one C-level pass on the fast path; else look closer
    for tune, state in zip(sample["io_tune"], sample["io_tune_current"]):
        if getattr(tune, "_current", None) != state.get("ioTune"):
            return False
    return True


class GuestIoTune(Collector):
    """Disk IO limits.

    - ``io_tune``: one record per disk that has a policy (``.name``, ``.path``,
      ``.guaranteed``, ``.maximum``, ``.current``; setters ``setTotalBytesSec`` ...)
    - ``io_tune_current``: the disks' current settings, as they were collected

    As upstream's, the record class is ``GuestIoTune.IoTune`` (its value bags
    ``GuestIoTune.IoTune.IoTuneVals``) and the interface ``self.hypervisor_iface``:
    a subclass written for upstream builds records with ``self.IoTune(name, path,
    guaranteed, maximum, current)``.
    """

    batchable = True  # a batched round asks every guest's collect() in turn

    # in the object itself, not in its __dict__'s values (the base class has one): a
    # batched round reads _token and _sample of a thousand collectors scattered in
    # memory, and a slot is one cache line less to wait for each
    __slots__ = ("hypervisor_iface", "uuid", "_tokens", "_token", "_sample")

    fields = _FIELDS
    IoTune = DiskIoTune

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.hypervisor_iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]
        # an upstream-style interface has no config_token: every sample derived anew
        self._tokens = callable(getattr(self.hypervisor_iface, "config_token", None))
        self._token: Any = None
        self._sample: dict[str, Any] | None = None

    def collect(self) -> dict[str, Any] | None:
        # the same configuration as last time (the interface says so) and records no
        # policy changed: the same sample, not matched and copied again
        token = self.hypervisor_iface.config_token(self.uuid) if self._tokens else None
        if token is not None and token is self._token and _unchanged(self._sample):
            return self._sample
        sample = self._collect()
        self._token, self._sample = token, sample
        return sample

    @classmethod
    def known_samples(cls, collectors: list[Any], alive: list[bool]) -> list[Any] | None:
        """A batched round: the guests whose sample :meth:`collect` would give again
        unchanged (same configuration token, records no policy changed) get it; the
        others MISSING (asked with ``collect()``).  The tokens come from an interface
        that answers many guests at once (libvirt's ``config_tokens``); None: ask all."""
        iface = collectors[0].hypervisor_iface
        tokens_of = getattr(iface, "config_tokens", None)
        if (
            tokens_of is None
            or cls.collect is not GuestIoTune.collect
            or not all_share(collectors, "hypervisor_iface", iface)
            or not all_share(collectors, "_tokens", True)
        ):
            return None
        tokens = tokens_of(uuids_of(collectors))
        known = cls._known_at_once(collectors, tokens, alive)
        if known is not None:
            return known
        known = []
        append, unchanged = known.append, io_tune.disks_unchanged
        for collector, token, ok in zip(collectors, tokens, alive):
            sample = collector._sample
            if (
                ok
                and token is not None
                and token is collector._token
                # _unchanged(sample), its usual case inline (this runs for every guest)
                and (sample is None or unchanged(sample["io_tune"], sample["io_tune_current"]) or _unchanged(sample))
            ):
                append(sample)
            else:
                append(MISSING)
        return known

    @staticmethod
    def _known_at_once(collectors: list[Any], tokens: list[Any], alive: list[bool]) -> list[Any] | None:
        """known_samples' usual round in C-level passes: every guest alive, with a sample,
        and its configuration token the one of last time (the same object); the samples,
        MISSING where a policy changed some record.  None: guest by guest."""
        if not all(alive) or not attrs_are(collectors, "_token", tokens) or holds(tokens, None):
            return None
        try:
            # the guests without an IO policy have None, the same again
            samples, changed = io_tune.samples_maybe_changed(collectors)
        except (KeyError, TypeError):
            return None  # not a sample collect() makes: guest by guest
        for position in changed:
            if not _unchanged(samples[position]):
                samples[position] = MISSING
        return samples

    def _collect(self) -> dict[str, Any] | None:
        policies = self.hypervisor_iface.getVmIoTunePolicy(self.uuid)
        if not policies:
            return None  # no IO policy (most guests): their disks' limits are not needed
        return match_io_tunes(policies, self.hypervisor_iface.getVmIoTune(self.uuid) or [], self.IoTune)


class GuestIoTuneOptional(GuestIoTune):
    """GuestIoTune whose fields are optional (vdsm's choice)."""

    fields = frozenset()
    optional_fields = _FIELDS
