"""The state file: JSON with a version, written atomically, bad files reported and moved aside."""

from __future__ import annotations

import json
import os

import pytest

from mom.sla.state import StateError, StateFile

UUID = "0b6f2c43-1d6c-4d3e-9d4e-6f7d0d1c2a01"


def test_round_trip_and_no_leftovers(tmp_path):
    path = tmp_path / "lib" / "mom" / "state.json"  # the directory is made
    state = StateFile(str(path))
    assert state.load() == {}  # no file yet: nothing set, no error
    state.save({UUID: {"class": "gold", "name": "a"}})
    assert StateFile(str(path)).load() == {UUID: {"class": "gold", "name": "a"}}
    assert json.loads(path.read_text())["version"] == 1
    assert os.listdir(path.parent) == ["state.json"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    state = StateFile(str(path))
    state.save({UUID: {"class": "gold"}})

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StateError, match="cannot write the state file .*No space left on device"):
        state.save({UUID: {"class": "vapor"}})
    monkeypatch.undo()
    assert StateFile(str(path)).load() == {UUID: {"class": "gold"}}
    assert os.listdir(tmp_path) == ["state.json"]  # the temporary file is gone


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is not a version 1 mom state file"),
        ('{"version": 2, "guests": {}}', "is not a version 1 mom state file"),
        ("\xff\xfe", "cannot read the state file"),
        ("", "is not JSON"),
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "state.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(StateError, match=message):
        StateFile(str(path)).load()


def test_empty_path_keeps_nothing(tmp_path):
    state = StateFile("")
    state.save({UUID: {"class": "gold"}})
    assert state.load() == {}
