"""Stage probabilities learned from your own closed deals, and how well they predict.

The learned probability of an open stage is the share of won deals among the closed deals
(won or lost) that were ever in that stage. Below ``MIN_SAMPLE`` closed deals the
configured probability stands (``source="configured"``).

Calibration is measured honestly, on deals the learning did not see: closed deals are
split in time at the 70th percentile of their closing moment; probabilities are learned
from the earlier 70 % only and scored on the later 30 %. The score is the Brier score, the
mean of (p − outcome)² over each (deal, stage it was in) of the later deals, for the
learned and for the configured probabilities (lower is better; always saying 0.5 scores
0.25). Everything comes from one aggregate query of counts per stage, whatever the
number of deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q

from rapport.sales import selectors
from rapport.sales.models import Deal, DealStageChange, Pipeline, Stage
from rapport.users import permissions
from rapport.users.models import RecordKind

MIN_SAMPLE = 30
TRAIN_SHARE = 0.7


@dataclass
class StageProbability:
    stage: Stage
    configured: Decimal
    learned: Decimal | None  # from every closed deal; None below the minimum sample
    won: int
    lost: int

    @property
    def sample(self) -> int:
        return self.won + self.lost

    @property
    def used(self) -> Decimal:
        return self.configured if self.learned is None else self.learned

    @property
    def source(self) -> str:
        return "configured" if self.learned is None else "learned"


@dataclass
class Calibration:
    cutoff: dt.datetime | None  # deals closed before it taught, after it tested
    train_deals: int
    test_deals: int
    test_points: int  # (deal, stage) pairs scored
    brier_learned: float | None
    brier_configured: float | None


def _rate(won: int, lost: int) -> Decimal | None:
    if won + lost < MIN_SAMPLE:
        return None
    return (Decimal(won) / Decimal(won + lost)).quantize(Decimal("0.001"))


def _cutoff(closed: Any) -> dt.datetime | None:
    n = closed.count()
    if n < 2:
        return None
    k = min(n - 1, max(1, int(n * TRAIN_SHARE)))
    return closed.order_by("closed_at", "id").values_list("closed_at", flat=True)[k]


def learned_probabilities(
    *, actor: Any, pipeline: Pipeline
) -> tuple[list[StageProbability], Calibration]:
    """Each open stage of the pipeline with its configured and learned probability, and
    the calibration of both on a time split (see the module's docstring)."""
    permissions.require(actor, "view", RecordKind.DEAL)
    stages = list(pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order", "id"))
    closed = selectors.visible_deals(actor).filter(
        pipeline=pipeline, status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__isnull=False
    )
    cutoff = _cutoff(closed)
    rows = (
        DealStageChange.objects.filter(deal__in=closed, to_stage__in=stages)
        .order_by()
        .values("to_stage_id", "deal__status")
        .annotate(
            all=Count("deal_id", distinct=True),
            early=Count("deal_id", distinct=True, filter=Q(deal__closed_at__lt=cutoff))
            if cutoff
            else Count("deal_id", filter=Q(pk__in=[])),
        )
    )
    counts: dict[tuple[int, str], tuple[int, int]] = {
        (r["to_stage_id"], r["deal__status"]): (r["all"], r["early"]) for r in rows
    }
    out: list[StageProbability] = []
    sq_learned = sq_configured = 0.0
    points = 0
    for s in stages:
        won_all, won_early = counts.get((s.pk, Deal.Status.WON), (0, 0))
        lost_all, lost_early = counts.get((s.pk, Deal.Status.LOST), (0, 0))
        out.append(StageProbability(s, s.probability, _rate(won_all, lost_all), won_all, lost_all))
        # Scored on the later deals with what the earlier ones taught.
        taught = _rate(won_early, lost_early)
        p_learned = float(s.probability if taught is None else taught)
        p_conf = float(s.probability)
        won_late, lost_late = won_all - won_early, lost_all - lost_early
        sq_learned += won_late * (1 - p_learned) ** 2 + lost_late * p_learned**2
        sq_configured += won_late * (1 - p_conf) ** 2 + lost_late * p_conf**2
        points += won_late + lost_late
    total = closed.count()
    train = closed.filter(closed_at__lt=cutoff).count() if cutoff else 0
    return out, Calibration(
        cutoff=cutoff,
        train_deals=train,
        test_deals=total - train,
        test_points=points,
        brier_learned=round(sq_learned / points, 4) if points else None,
        brier_configured=round(sq_configured / points, 4) if points else None,
    )
