"""A doubt found while reading a guideline sentence: a fixed English kind and a Chinese message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    """A doubt about the reading, for the officer who confirms the targets or rules."""

    kind: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}
