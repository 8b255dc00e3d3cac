"""The sales part of the demo: two years of leads and deals that hold to the rules."""

from __future__ import annotations

import pytest

from rapport.customers.demo import demo_load
from rapport.sales.demo import sales_demo_load
from rapport.sales.models import Deal, DealRole, DealStageChange, Lead
from rapport.timeline.models import Entry

pytestmark = pytest.mark.django_db


def _story() -> list[tuple]:
    return list(
        Deal.objects.order_by("id").values_list(
            "name",
            "amount",
            "status",
            "stage__name",
            "owner__username",
            "expected_close",
            "lost_reason__name",
        )
    )


def test_the_demo_tells_a_reproducible_story_that_keeps_the_rules():
    demo_load(accounts=8, contacts=60, seed=3, progress=False, history_contacts=0)
    line = sales_demo_load(seed=3)
    assert line.startswith("Sales: 480 deals")
    statuses = set(Deal.objects.values_list("status", flat=True))
    assert statuses == {"open", "won", "lost"}
    assert not Deal.objects.filter(status="lost", lost_reason__isnull=True).exists()
    for deal in Deal.objects.order_by("?")[:20]:
        moves = list(DealStageChange.objects.filter(deal=deal).order_by("at", "id"))
        assert moves[0].from_stage is None and moves[-1].to_stage_id == deal.stage_id
        assert all(a.to_stage_id == b.from_stage_id for a, b in zip(moves, moves[1:], strict=False))
        assert Entry.objects.filter(data__deal=deal.pk).count() == len(moves)
    assert DealRole.objects.exists() and Lead.objects.filter(converted_deal__isnull=False).exists()
    assert Lead.objects.filter(status="disqualified").exclude(disqualify_reason="").exists()
    assert sales_demo_load(seed=3).endswith("none added.")
    first = _story()
    Lead.objects.all().delete()
    DealStageChange.objects.all().delete()
    Deal.objects.all().delete()
    sales_demo_load(seed=3)
    assert _story() == first


def test_a_moment_of_today_is_never_in_the_future_even_just_after_midnight():
    """The demo run at 00:58 put a deal moved 'today' at a working hour still to come."""
    import datetime as dt
    import random
    from unittest import mock

    from django.utils import timezone

    from rapport.sales.demo import _moment

    just_after_midnight = timezone.make_aware(
        dt.datetime.combine(timezone.localdate(), dt.time(0, 58)),
        timezone.get_current_timezone(),
    )
    rng = random.Random(3)
    with mock.patch.object(timezone, "now", return_value=just_after_midnight):
        moments = [_moment(just_after_midnight.date(), rng) for _ in range(50)]
    assert max(moments) < just_after_midnight
    earlier = [_moment(just_after_midnight.date() - dt.timedelta(days=2), rng) for _ in range(50)]
    assert all(8 <= timezone.localtime(m).hour < 18 for m in earlier)


def test_the_demo_has_quotas_adjustments_and_a_year_of_weekly_snapshots():
    import datetime as dt

    from django.utils import timezone

    from rapport.sales.forecasting.periods import quarter_of
    from rapport.sales.models import ForecastAdjustment, ForecastSnapshot, Quota

    demo_load(accounts=8, contacts=60, seed=5, progress=False, history_contacts=0)
    line = sales_demo_load(seed=5)
    assert "quotas" in line and "weekly forecast snapshots" in line
    current = quarter_of(timezone.localdate())
    assert Quota.objects.filter(period_start=current.start, user__isnull=False).exists()
    assert Quota.objects.filter(period_start=current.start, team__isnull=False).exists()
    weeks = sorted(set(ForecastSnapshot.objects.values_list("week", flat=True)))
    assert len(weeks) >= 50 and weeks[-1] > timezone.localdate() - dt.timedelta(days=7)
    now = timezone.now()
    assert not ForecastSnapshot.objects.filter(taken_at__gt=now).exists()
    assert not ForecastAdjustment.objects.filter(at__gt=now).exists()
    assert not DealStageChange.objects.filter(at__gt=now).exists()
