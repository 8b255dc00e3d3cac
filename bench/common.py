"""What the database benchmarks share: a fresh database per run, and steps run in child
processes (so each step's peak memory is its own)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def fresh_env(work: Path, pg_db: str, db: str, tag: str = "") -> dict[str, str]:
    """Environment for a migrated, empty database: a SQLite data directory under ``work``,
    or the PostgreSQL database ``pg_db`` dropped and created again."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rapport.settings", "RAPPORT_MEDIA_ROOT": str(work / "media")}
    data = work / (f"{db}-{tag}" if tag else db)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env["RAPPORT_DATA_DIR"] = str(data)
    if db == "pg":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {pg_db}")
            conn.execute(f"CREATE DATABASE {pg_db}")
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
    else:
        env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    return env


def run_step(script: str, env: dict[str, str], *args: str) -> dict:
    """Run ``script`` with ``args`` in a child process; its last output line is JSON."""
    out = subprocess.run([sys.executable, script, *args], env=env, check=True, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])
