"""An import worker killed with SIGKILL mid-run, twice, then resumed: the result is the
same as an uninterrupted run. Runs against whichever database the suite uses (SQLite or
PostgreSQL), through the real command line in a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from rapport.customers.models import Account, Contact, ContactEmail
from rapport.ingest.models import ImportJob, ImportRecord, ImportRejection
from rapport.ingest.tests.helpers import csv_bytes, upload

PEOPLE = 6000
REPEATS = 300  # rows repeating an earlier person's e-mail: updates, never new contacts
BAD = 150  # rows with an invalid e-mail


def _rows() -> list[list[str]]:
    rows = [["First name", "Last name", "Email", "Phone", "Company", "Job title"]]
    for i in range(PEOPLE):
        rows.append([f"Given{i}", f"Family{i}", f"person{i}@firm{i % 97}.example.com", f"020 7946 {i % 10000:04d}", f"Firm {i % 97}", ""])
        if i % 20 == 7:
            rows.append([f"Given{i}", f"Family{i}", f"person{i}@firm{i % 97}.example.com", "", "", f"Title {i}"])
        if i % 40 == 3:
            rows.append([f"Bad{i}", "Row", f"bad{i}@@nowhere", "", "", ""])
    return rows


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s.get('PASSWORD') or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start(job_id: int, tmp_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "RAPPORT_DATA_DIR": str(tmp_path / "data"),
        "RAPPORT_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "RAPPORT_IMPORT_BATCH_ROWS": "150",
        "RAPPORT_IMPORT_PROCESSES": "2",  # the cleaning processes must die with the worker
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    }
    cmd = [sys.executable, "-m", "rapport.cli", "import", "resume", str(job_id), "--quiet"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=settings.BASE_DIR.parent)  # noqa: S603


def _kill_after(proc: subprocess.Popen, job_id: int, past_row: int) -> tuple[int, list[int]]:
    """SIGKILL the worker once it has committed beyond ``past_row``; returns rows_done then
    and the worker's child processes (its cleaners) as they were just before."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = ImportJob.objects.values_list("rows_done", flat=True).get(pk=job_id)
        if done > past_row:
            children = _children_of(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return done, children
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the worker ended before it could be killed: {out.decode()} {err.decode()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the worker made no progress in two minutes")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_twice_mid_import_resumes_to_the_uninterrupted_result(personas, tmp_path):
    rows = _rows()
    total = len(rows) - 1
    job = upload(personas["alice"], csv_bytes(rows), source="bigfile")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)

    first = _start(job.pk, tmp_path)
    killed_at, cleaners = _kill_after(first, job.pk, past_row=1)
    assert 1 < killed_at < total + 1, "the first kill must land mid-import"
    assert len(cleaners) == 2  # the worker was cleaning rows in two processes
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in cleaners) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in cleaners), "no cleaner outlives its worker"

    second = _start(job.pk, tmp_path)
    killed_again, _ = _kill_after(second, job.pk, past_row=killed_at + 300)
    assert killed_at < killed_again < total + 1, "the second kill must land mid-import"

    third = _start(job.pk, tmp_path)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err.decode()

    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert job.rows_seen == total and job.total_rows == total
    assert (job.created, job.updated, job.rejected) == (PEOPLE, REPEATS, BAD)
    # Nothing doubled: one contact per person, each e-mail once, one record per row written.
    assert Contact.objects.count() == PEOPLE
    assert not ContactEmail.objects.values("email").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Account.objects.count() == 97 == job.accounts_created
    assert ImportRejection.objects.filter(job=job).count() == BAD
    contact_rows = ImportRecord.objects.filter(job=job, entity_kind="contact")
    assert contact_rows.count() == PEOPLE + REPEATS
    assert contact_rows.values("row").distinct().count() == PEOPLE + REPEATS
    # Nothing lost: every repeated row's title landed.
    assert Contact.objects.exclude(job_title="").count() == REPEATS
