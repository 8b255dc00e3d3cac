"""The demo's year of cases reads like a desk's: some cases need a second answer."""

from __future__ import annotations

from rapport.customers.tests.factories import make_contact
from rapport.service.models import Case, CaseMessage
from rapport.timeline.models import Entry


def test_some_demo_customers_write_back_after_the_first_answer_and_most_do_not(monkeypatch, db):
    from rapport.customers.demo import demo_users_ensure
    from rapport.service import demo

    monkeypatch.setattr(demo, "CASES", 60)
    demo_users_ensure()
    for i in range(10):
        make_contact(full_name=f"Demo Person {i}")
    demo.service_demo_load(seed=3)

    answered = Case.objects.filter(first_response_at__isnull=False)
    wrote_back = answered.filter(
        messages__direction=CaseMessage.Direction.INBOUND
    ).distinct()
    assert 0 < wrote_back.count() < answered.count()
    for message in CaseMessage.objects.filter(direction=CaseMessage.Direction.INBOUND):
        assert message.occurred_at >= message.case.first_response_at
        # On the customer's timeline too, as the mail path puts an e-mail there.
        assert message.entry is not None and message.entry.kind == "email"
        assert message.entry.direction == "in"
    assert Entry.objects.filter(kind="email", direction="in").exists()
