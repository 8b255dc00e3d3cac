"""Demo data of sales (``manage.py demo``, order 20): filled in below."""

from __future__ import annotations


def sales_demo_load(*, seed: int) -> str:
    return "sales: nothing yet"
