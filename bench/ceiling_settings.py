"""Rapport's settings with the "ceiling" URLs: bare Django views of the same shape as the
app's pages, served by the same server, middleware and database (bench/load.py)."""

from rapport.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_ceiling"
