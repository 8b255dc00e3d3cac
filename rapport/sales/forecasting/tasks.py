"""The weekly forecast snapshot, run by the background worker (queued once a week by
``services.snapshots_enqueue_due``); safe to run twice: a week's first taking stands."""

from __future__ import annotations

import datetime as dt

from django_tasks import task


@task()
def forecast_snapshot_task(week: str) -> int:
    from rapport.sales.forecasting.services import snapshot_take

    return snapshot_take(week=dt.date.fromisoformat(week))
