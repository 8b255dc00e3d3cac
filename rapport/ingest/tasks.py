"""The old dotted paths of ingest's tasks, for the tasks already queued under them.

django-tasks stores each queued task by its module path (``rapport.ingest.tasks.import_run_task``)
and imports it by that path when a worker picks it up. The tasks now live in their
sub-packages; this module re-exports them so the rows queued before the split still run.
Delete it once the queues have drained of the old paths (no ``django_tasks_db`` row with a
``task_path`` starting ``rapport.ingest.tasks.`` left unfinished). Import tasks from their
sub-package, never from here.
"""

from rapport.ingest.imports.tasks import import_run_task, import_undo_task
from rapport.ingest.mail.tasks import mailbox_poll_task
from rapport.ingest.proposals.tasks import mail_learn_task

__all__ = ["import_run_task", "import_undo_task", "mail_learn_task", "mailbox_poll_task"]
