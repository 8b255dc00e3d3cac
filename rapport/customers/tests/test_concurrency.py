import threading

import pytest
from django.db import close_old_connections

from conftest import actor
from rapport.core.errors import VersionConflict
from rapport.customers import services
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_the_same_version_at_once_cannot_both_win(personas):
    contact = make_contact(full_name="Ann Lee", job_title="Engineer")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(name: str, title: str) -> None:
        stale = Contact.objects.get(pk=contact.pk)  # both read version 1
        barrier.wait()
        try:
            services.contact_update(actor=actor(personas["alice"]), contact=stale, data={"job_title": title}, expected_version=1)
            outcomes[name] = "saved"
        except VersionConflict:
            outcomes[name] = "conflict"
        finally:
            close_old_connections()

    threads = [threading.Thread(target=edit, args=(n, t)) for n, t in (("a", "CTO"), ("b", "CEO"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    contact.refresh_from_db()
    winner = "CTO" if outcomes["a"] == "saved" else "CEO"
    assert (contact.job_title, contact.version) == (winner, 2)
