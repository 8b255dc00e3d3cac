"""Side effects run only after the change they follow is committed."""

import pytest
from django.db import transaction

from rapport.core.transactions import after_commit, enqueue_after_commit


@pytest.mark.django_db
def test_work_waits_for_the_commit_and_keeps_its_arguments(django_capture_on_commit_callbacks):
    done = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(3):
            after_commit(done.append, n)  # each call keeps its own n
        assert done == []
    assert done == [0, 1, 2] and len(callbacks) == 3


@pytest.mark.django_db(transaction=True)
def test_work_after_a_rollback_never_runs():
    done = []
    with pytest.raises(RuntimeError), transaction.atomic():
        after_commit(done.append, "lost")
        raise RuntimeError("rolled back")
    assert done == []


@pytest.mark.django_db
def test_a_task_is_queued_after_the_commit(django_capture_on_commit_callbacks):
    queued = []

    class Task:
        def enqueue(self, *args, **kwargs):
            queued.append((args, kwargs))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_after_commit(Task(), 7, due_only=True)
        assert queued == []
    assert queued == [((7,), {"due_only": True})]
