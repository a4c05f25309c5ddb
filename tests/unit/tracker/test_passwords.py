"""G31: however many logins arrive at once, at most two argon2 hashes run at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tracker import passwords


class _SpyHasher:
    """Stands in for argon2: counts the hashes inside it at once and holds them until the test lets go."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.in_flight = 0
        self.most = 0
        self.calls = 0
        self.let_go = threading.Event()

    def _enter(self) -> None:
        with self.changed:
            self.in_flight += 1
            self.calls += 1
            self.most = max(self.most, self.in_flight)
            self.changed.notify_all()
        self.let_go.wait(timeout=30)  # returns when the test lets go; the timeout only ends a broken run
        with self.changed:
            self.in_flight -= 1

    def verify(self, stored_hash: str, password: str) -> bool:
        self._enter()
        return False

    def hash(self, password: str) -> str:
        self._enter()
        return "$argon2id$spy"


def test_a_login_flood_never_runs_more_than_two_hashes_at_once(monkeypatch):
    callers = 40
    spy = _SpyHasher()
    monkeypatch.setattr(passwords, "_HASHER", spy)
    with ThreadPoolExecutor(max_workers=callers) as pool:
        futures = [pool.submit(passwords.verify_password, "$argon2id$x", f"wrong {i}") if i % 2
                   else pool.submit(passwords.hash_password, f"new {i}") for i in range(callers)]
        with spy.changed:
            assert spy.changed.wait_for(lambda: spy.in_flight == passwords.MAX_HASHES_IN_FLIGHT, timeout=30)
        # Two hashes are running: the third caller finds no free slot and waits.
        assert passwords._SLOTS.acquire(blocking=False) is False
        spy.let_go.set()
        results = [f.result() for f in futures]
    assert spy.calls == callers
    assert spy.most == passwords.MAX_HASHES_IN_FLIGHT
    assert results.count(False) == callers // 2
    assert passwords._SLOTS.acquire(blocking=False) is True  # every slot came back
    passwords._SLOTS.release()


def test_a_slot_comes_back_when_the_hash_fails(monkeypatch):
    class Broken:
        def verify(self, stored_hash: str, password: str) -> bool:
            raise passwords.InvalidHashError("broken")

    monkeypatch.setattr(passwords, "_HASHER", Broken())
    for _ in range(passwords.MAX_HASHES_IN_FLIGHT + 3):
        assert passwords.verify_password("not a hash", "x") is False
