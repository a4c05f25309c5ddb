"""Rendered parts of pages kept in memory, keyed by what they show and the data generation
(tracker.services.data_generation), so that a page asked for again before anything it shows has changed is not
built again. At 10,000 projects, rendering the project list's 24 KB of HTML was most of its time, and its queries
the rest.

Per process, least recently used first out. A part must not hold anything specific to one session (no CSRF token):
the key names everything it depends on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup
from sqlalchemy.orm import Session

from tracker.services import data_generation


class FragmentCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, db: Session, key: tuple, render: Callable[[], str]) -> Markup:
        """The part for `key` at the current generation, rendered by `render` (an autoescaped template) if new."""
        generation = data_generation.current(db)
        if generation is None:
            return _html(render())
        full = (generation, *key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return _html(self._items[full])
        html = render()
        with self._lock:
            self._items[full] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return _html(html)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _html(rendered: str) -> Markup:
    return Markup(rendered)  # noqa: S704 - the output of an autoescaped template, never raw user text


PROJECT_LISTS = FragmentCache()
