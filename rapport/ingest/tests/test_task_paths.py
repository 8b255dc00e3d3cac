"""Tasks queued before ingest was split into sub-packages still resolve by their old path."""

from django.utils.module_loading import import_string

from rapport.ingest.imports.tasks import import_run_task, import_undo_task
from rapport.ingest.mail.tasks import mailbox_poll_task
from rapport.ingest.proposals.tasks import mail_learn_task


def test_old_task_paths_resolve_to_the_moved_tasks():
    # django_tasks_db stores task_path and imports it with import_string when a worker runs it.
    assert import_string("rapport.ingest.tasks.import_run_task") is import_run_task
    assert import_string("rapport.ingest.tasks.import_undo_task") is import_undo_task
    assert import_string("rapport.ingest.tasks.mailbox_poll_task") is mailbox_poll_task
    assert import_string("rapport.ingest.tasks.mail_learn_task") is mail_learn_task


def test_new_tasks_are_queued_under_their_sub_package():
    assert import_run_task.module_path == "rapport.ingest.imports.tasks.import_run_task"
    assert mailbox_poll_task.module_path == "rapport.ingest.mail.tasks.mailbox_poll_task"
    assert mail_learn_task.module_path == "rapport.ingest.proposals.tasks.mail_learn_task"
