"""Running imports in tests: a file in, a finished job out."""

from __future__ import annotations

import io
from typing import Any

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.ingest.imports import engine, services
from rapport.ingest.models import ImportJob


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(user: Any, data: bytes, *, filename: str = "people.csv", kind: str = "contacts", **config: Any) -> ImportJob:
    actor = Actor(user=user, via=Via.WEB)
    job = services.import_create(actor=actor, stream=io.BytesIO(data), filename=filename, kind=kind)
    if config:
        services.import_configure(actor=actor, job=job, **config)
    return job


def run_import(user: Any, data: bytes, **kwargs: Any) -> ImportJob:
    """Upload, configure and run to the end in this process (no worker)."""
    job = upload(user, data, **kwargs)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    engine.run(job.pk, processes=0)
    job.refresh_from_db()
    return job
