"""The rules a direction sets for its projects: selection (which targets must be met), funding, period."""
