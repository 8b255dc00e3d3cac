"""What every kind of import run shares: how a run stops, and a cancellation marked.

Here rather than in ``engine`` (contacts) so that ``accounts`` can use them while the
engine hands account files to ``accounts``: engine -> accounts -> runs, no loop.
"""

from __future__ import annotations

from django.utils import timezone

from rapport.ingest.models import ImportJob


class Stop(Exception):
    """The run must end now: cancelled, or another worker owns the job."""


def mark_cancelled(job: ImportJob) -> None:
    """Mark a locked job cancelled. The caller commits, then stops the run: raising inside
    the transaction would roll the cancellation back with the batch."""
    job.state = ImportJob.State.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "finished_at", "updated_at"])
