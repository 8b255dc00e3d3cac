import pytest
from django.db import transaction

from rapport.core import touchpoints


@pytest.fixture
def heard(monkeypatch):
    got: list[touchpoints.Touchpoint] = []
    monkeypatch.setattr(touchpoints, "_listeners", [got.append])
    return got


def _reach(**kw):
    touchpoints.touchpoint_reached(
        kind="case_resolved", contact_id=7, account_id=None, department="service",
        object_kind="case", object_id=3, **kw,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_listeners_hear_a_touchpoint_only_once_its_change_commits(heard):
    with transaction.atomic():
        _reach()
        assert heard == []
    assert [(p.kind, p.contact_id, p.object_id) for p in heard] == [("case_resolved", 7, 3)]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_reaches_no_touchpoint(heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        _reach()
        raise RuntimeError("the save failed")
    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_listener_does_not_stop_the_others(monkeypatch):
    got = []

    def broken(point):
        raise LookupError("survey app down")

    monkeypatch.setattr(touchpoints, "_listeners", [broken, got.append])
    _reach()
    assert len(got) == 1


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown touchpoint"):
        touchpoints.touchpoint_reached(
            kind="case_reopened", contact_id=1, account_id=None, department="service",
            object_kind="case", object_id=1,
        )  # fmt: skip
