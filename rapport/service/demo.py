"""Demo data: a year of cases on the demo contacts (filled below)."""

from __future__ import annotations


def service_demo_load(*, seed: int = 1) -> str:
    return "cases: none"
