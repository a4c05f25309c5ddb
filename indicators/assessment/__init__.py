"""Judging a project against its targets: progress from accepted reports, reported values in the target's unit."""
