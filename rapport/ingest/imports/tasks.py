"""Background work of imports. Each task takes an id and is safe to run twice: a run that
finds the job finished, or owned by a live run, does nothing."""

from __future__ import annotations

from django_tasks import task

from rapport.audit.models import Via
from rapport.audit.services import Actor


@task()
def import_run_task(job_id: int) -> None:
    from rapport.ingest.imports import engine

    engine.run(job_id)


@task()
def import_undo_task(job_id: int) -> None:
    from rapport.ingest.imports import undo
    from rapport.ingest.models import ImportJob

    job = ImportJob.objects.select_related("undone_by").get(pk=job_id)
    undo.undo_run(job_id, Actor(user=job.undone_by, via=Via.IMPORT, context={"import": job_id, "undo": True}))
