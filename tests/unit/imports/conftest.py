"""Fixtures for the guideline parser tests: the five seed documents in tracker/demo/samples and the labelled
clause sample tests/data/indicators-dev.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imports.guidelines import ParsedGuideline, SourceText, parse_guideline, read_source

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "tracker" / "demo" / "samples"
LABELLED = ROOT / "tests" / "data" / "indicators-dev.jsonl"
SEED_PREFIXES = ("000", "001", "002", "003", "004")


def seed_path(prefix: str) -> Path:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path


@pytest.fixture(scope="session")
def seed_file():
    """`seed_file("004")` → the path of a seed document."""
    return seed_path


@pytest.fixture(scope="session")
def sources() -> dict[str, SourceText]:
    return {prefix: read_source(seed_path(prefix)) for prefix in SEED_PREFIXES}


@pytest.fixture(scope="session")
def parsed(sources: dict[str, SourceText]) -> dict[str, ParsedGuideline]:
    return {prefix: parse_guideline(source) for prefix, source in sources.items()}


@pytest.fixture(scope="session")
def labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
