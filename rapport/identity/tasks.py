"""Background work of identity resolution; each task takes an id and is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def scan_run_task(scan_id: int) -> None:
    from rapport.identity import scanjob

    scanjob.run(scan_id)
