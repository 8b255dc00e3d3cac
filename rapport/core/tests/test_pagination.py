import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from rapport.core.errors import ValidationFailed
from rapport.core.pagination import keyset_page
from rapport.customers.models import Contact


class KeysetWalk(TestCase):
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        names=st.lists(st.sampled_from(["ann", "bob", "cy", "dee", "ann"]), min_size=0, max_size=25),
        size=st.integers(min_value=1, max_value=7),
        order=st.sampled_from([["sort_name", "id"], ["-sort_name", "-id"], ["-id"], ["-updated_at", "-id"]]),
    )
    def test_walking_the_pages_visits_every_row_once_in_order(self, names, size, order):
        Contact.objects.all().delete()
        for name in names:
            Contact.objects.create(given_name=name, full_name=name, sort_name=name)
        seen, cursor = [], None
        while True:
            page = keyset_page(Contact.objects.all(), order=order, cursor=cursor, size=size)
            seen += [c.pk for c in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = list(Contact.objects.order_by(*order).values_list("pk", flat=True))
        assert seen == expected


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WzEsMiwzXQ"])
def test_a_forged_cursor_is_a_clear_error(db, cursor):
    with pytest.raises(ValidationFailed) as exc:
        keyset_page(Contact.objects.all(), order=["sort_name", "id"], cursor=cursor, size=5)
    assert "cursor" in exc.value.errors
