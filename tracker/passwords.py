"""Password hashing with argon2id (G5 parameters: m=64 MiB, t=3, p=4).

At most `MAX_HASHES_IN_FLIGHT` hashes run at once in a process (G31): each takes 64 MiB and several cores for
a noticeable time, so a flood of logins would otherwise starve every other page of CPU and memory. The others
wait their turn."""

from __future__ import annotations

import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_HASHES_IN_FLIGHT = 2

_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
_SLOTS = threading.BoundedSemaphore(MAX_HASHES_IN_FLIGHT)


def hash_password(password: str) -> str:
    with _SLOTS:
        return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        with _SLOTS:
            return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("no such user: this hash only burns the same time")


def burn_verify() -> None:
    """Verify against a dummy hash so that an unknown user costs what a wrong password costs."""
    verify_password(_dummy_hash(), "wrong password")
