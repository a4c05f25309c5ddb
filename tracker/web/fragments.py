"""Parts of pages kept in memory, keyed by what they show and the data generation
(tracker.services.data_generation), so that a page asked for again before anything it shows has changed is not
built again. At 10,000 projects, rendering the project list's 24 KB of HTML was most of its time, and its queries
the rest.

Per process, least recently used first out. A part must not hold anything specific to one session (no CSRF token,
no user name): its key names everything else it depends on. What is kept is shared between requests and must not
be changed by them.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy.orm import Session

from tracker.services import data_generation

T = TypeVar("T")


class KeptParts:
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}  # one lock per part being built

    def _kept(self, full: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return True, self._items[full]
            return False, None

    def get(self, db: Session, key: tuple, build: Callable[[], T], *, generation: bool = True) -> T:
        """The part for `key` at the current generation, built by `build` if there is none yet. Requests that
        ask for a part while another builds it wait for that one instead of building it too: after a change,
        eight requests for the officer's home would otherwise each spend a second on the same figures.
        `generation=False`: the key itself says what the part depends on (a version of its own), so that changes
        elsewhere (a grantee saving a draft) do not throw it away."""
        current = data_generation.current(db) if generation else "own"
        if current is None:
            return build()
        full = (current, *key)
        found, part = self._kept(full)
        if found:
            return part
        with self._lock:
            building = self._building.setdefault(full, threading.Lock())
        try:
            with building:
                found, part = self._kept(full)
                if found:
                    return part
                part = build()
                with self._lock:
                    self._items[full] = part
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)
                return part
        finally:
            with self._lock:
                if self._building.get(full) is building and not building.locked():
                    del self._building[full]

    def html(self, db: Session, key: tuple, render: Callable[[], str], *, generation: bool = True) -> Markup:
        """A rendered part: `render` fills an autoescaped template."""
        return Markup(self.get(db, key, render, generation=generation))  # noqa: S704 - autoescaped output

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


KEPT = KeptParts()

# A kept part that holds a form renders this in place of the CSRF token, and the page puts the session's own token
# there (`with_csrf`). Drawn per process, so no text a user typed can contain it.
CSRF_PLACEHOLDER = "csrf-" + secrets.token_hex(16)


def with_csrf(html: str, token: str) -> Markup:
    """A kept part's HTML with the request's CSRF token in its forms."""
    return Markup(html.replace(CSRF_PLACEHOLDER, token))  # noqa: S704 - an autoescaped template's output


def scope_key(user: Any) -> tuple:
    """What decides which projects a user sees (tracker.services.projects.scoped_projects): the role, the
    organisation, and for the roles that see assigned work, the user (an officer's programme assignments are
    watched by the data generation, so the user stands for them without reading them)."""
    return (user.role, user.organisation_id, user.id if user.role in ("officer", "expert") else None)
