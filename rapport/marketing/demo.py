"""Demo data for marketing (Part order 50): filled below."""

from __future__ import annotations


def marketing_demo_load(*, seed: int = 1) -> str:
    return "marketing: nothing yet"
