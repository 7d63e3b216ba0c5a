"""``mom.optional.Optional`` as upstream's OptionalTests use it."""

from __future__ import annotations

import pytest

from mom.optional import Optional


def test_present_and_missing():
    present, missing = Optional(5), Optional.missing()
    assert present.present and not missing.present
    assert present.value == 5
    with pytest.raises(ValueError):
        missing.value  # noqa: B018
    assert present.orNone() == 5 and missing.orNone() is None
    assert present.orElse(1) == 5 and missing.orElse(1) == 1
    assert Optional(None).present and Optional(None).orElse(1) is None


def test_or_raise():
    assert Optional(3).orRaise(RuntimeError, "x") == 3
    with pytest.raises(RuntimeError, match="gone"):
        Optional.missing().orRaise(RuntimeError, "gone")


def test_map_index_iter():
    assert Optional(2).map(lambda v: v * 3).value == 6
    assert not Optional.missing().map(lambda v: v * 3).present
    data = Optional({"a": {"b": 1}})
    assert data["a"]["b"].value == 1
    assert not data["x"]["b"].present
    assert list(Optional([1, 2])) == [1, 2] and list(Optional.missing()) == []


def test_get_returns_an_optional_as_upstream():
    data = Optional({"key": "val", "a": {"b": 1}})
    assert data.get("key") == Optional("val") and data.get("key").value == "val"
    assert data.get("key2", "default").value == "default"
    assert data.get("key2").present and data.get("key2").value is None  # dict.get's default
    assert data.get("a")["b"].value == 1 and data.get("a").get("b").value == 1
    missing = Optional.missing()
    assert not missing.get("key").present and not missing.get("key", "default").present
    assert missing.get("key").orElse(7) == 7
