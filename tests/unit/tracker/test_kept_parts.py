"""Kept page parts (tracker.web.fragments): built once per key and data generation, also when several requests
ask for the same part at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tracker.services import data_generation
from tracker.web.fragments import KeptParts


def test_requests_asking_together_wait_for_one_build(monkeypatch):
    monkeypatch.setattr(data_generation, "current", lambda db: 7)
    kept, started, release, builds = KeptParts(), threading.Event(), threading.Event(), []

    def build() -> str:
        builds.append(1)
        started.set()
        release.wait(5)  # the first build is still running while the others ask
        return "part"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(kept.get, None, ("home",), build)
        assert started.wait(5)
        others = [pool.submit(kept.get, None, ("home",), build) for _ in range(7)]
        release.set()
        results = [first.result(5)] + [f.result(5) for f in others]
    assert results == ["part"] * 8 and len(builds) == 1
    # Another key, or the same key at another generation, is built on its own.
    assert kept.get(None, ("list",), lambda: "list") == "list"
    monkeypatch.setattr(data_generation, "current", lambda db: 8)
    assert kept.get(None, ("home",), lambda: "new") == "new"


def test_a_failed_build_leaves_nothing_behind(monkeypatch):
    monkeypatch.setattr(data_generation, "current", lambda db: 1)
    kept = KeptParts()

    def broken() -> str:
        raise RuntimeError("数据库不可用")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            kept.get(None, ("home",), broken)
    assert kept.get(None, ("home",), lambda: "ok") == "ok" and not kept._building
