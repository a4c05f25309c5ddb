"""Reading guideline sentences: indicator clauses into targets, with their numbers, units and comparators."""

from indicators.reading.targets import ClauseReading, Flag, Target, interpret_clause

__all__ = ["ClauseReading", "Flag", "Target", "interpret_clause"]
