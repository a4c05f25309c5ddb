"""Assessment indicators: clause text → targets (pure code, standard library only)."""

from indicators.targets import ClauseReading, Flag, Target, interpret_clause

__all__ = ["ClauseReading", "Flag", "Target", "interpret_clause"]
