"""Surveys on the demo records (``manage.py demo``, order 60, after service and sales).

Two surveys, as a company would run them: "After your case" (CSAT 1–5 and a comment, sent
when a case is resolved, at most one a month per person) and "Would you recommend Lumen?"
(NPS 0–10, what matters most, a comment), sent when a deal is won and, by hand, after a
lost one. Every resolved case and every won or lost deal of the demo year gets its
decision, through the same services as real use: invited, or not (no consent for
surveys, over the cap, no address), so the rows show what consent and the cap stopped;
nothing is handed to a mail server. About a third of the people answer, within days,
complaints less kindly than questions, lost deals less than won ones, with comments in
their words. Nothing is dated after now: an answer that would fall later is not given
yet. The same seed tells the same story.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from rapport.core.actor import Actor
from rapport.surveys import services
from rapport.surveys.models import Invitation, Survey

CSAT_NAME = "After your case"
NPS_NAME = "Would you recommend Lumen?"
YEAR = 365

CSAT_COMMENTS = {
    5: [
        "Sorted in one call, thank you Sam!",
        "Fast and friendly, exactly what I needed.",
        "The replacement arrived the next day. Impressed.",
        "Clear answer, no runaround.",
        "Best support I have had from a supplier this year.",
        "Kept me informed all the way.",
    ],
    4: [
        "Good help, took a little longer than I hoped.",
        "Solved, but I had to explain twice.",
        "Friendly team. The first reply was a bit generic.",
        "All fine in the end.",
    ],
    3: [
        "It works now, but it took three e-mails.",
        "OK. The invoice is still not quite right.",
        "Answer was correct but slow.",
    ],
    2: [
        "Waited a week for a reply.",
        "Nobody called back as promised.",
        "I was passed from one person to another.",
    ],
    1: [
        "Still broken and the case is marked resolved?!",
        "Very disappointing, considering leaving.",
        "No one read my original message.",
    ],
}
NPS_COMMENTS = {
    "promoter": [
        "Reliable products and people who pick up the phone.",
        "Your account manager knows our business.",
        "Good value, and the installation team was excellent.",
        "We recommend you to partners already.",
    ],
    "passive": [
        "Good products, pricing could be clearer.",
        "Fine, but delivery times vary a lot.",
        "Decent overall. The portal is clunky.",
    ],
    "detractor": [
        "Too expensive for what we got.",
        "The quote took weeks.",
        "We went with a competitor this time.",
        "Support was hard to reach during the rollout.",
    ],
}
WHAT_MATTERS = ["Price", "Product quality", "Service and support", "Delivery"]


def _csat_score(rng: random.Random, complaint: bool) -> int:
    weights = [10, 10, 14, 28, 38] if complaint else [4, 6, 11, 29, 50]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _nps_score(rng: random.Random, won: bool) -> int:
    weights = (
        [1, 1, 1, 2, 2, 4, 5, 10, 14, 28, 32] if won else [5, 5, 7, 9, 11, 13, 12, 14, 11, 8, 5]
    )
    return rng.choices(range(11), weights=weights)[0]


def _surveys() -> tuple[Survey, Survey]:
    system = Actor(user=None, via="system", context={"demo": True})
    csat = services.survey_create(
        actor=system,
        data={
            "name": CSAT_NAME, "trigger": "case_resolved", "department": "service",
            "cap_count": 1, "cap_days": 30, "valid_days": 14,
            "subject": "How did we do with your case?",
            "intro": "Two questions about the case we just resolved for you.",
            "questions": [
                {"kind": "csat", "text": "How satisfied are you with how we handled your case?", "required": True},
                {"kind": "text", "text": "What could we have done better?"},
            ],
        },
    )  # fmt: skip
    nps = services.survey_create(
        actor=system,
        data={
            "name": NPS_NAME, "trigger": "deal_won", "department": "sales",
            "cap_count": 1, "cap_days": 90, "cap_scope": "all", "valid_days": 21,
            "subject": "One question about working with Lumen",
            "questions": [
                {"kind": "nps", "text": "How likely are you to recommend Lumen to a colleague?", "required": True},
                {"kind": "single", "text": "What matters most to you?", "choices": WHAT_MATTERS},
                {"kind": "text", "text": "What is the main reason for your score?"},
            ],
        },
    )  # fmt: skip
    return csat, nps


def surveys_demo_load(*, seed: int) -> str:
    if Survey.objects.filter(name__in=(CSAT_NAME, NPS_NAME)).exists():
        return "Surveys: already there, nothing added."
    from rapport.sales.models import Deal
    from rapport.service.models import Case

    rng = random.Random(f"surveys-{seed}")
    now = timezone.now()
    since = now - dt.timedelta(days=YEAR)
    csat, nps = _surveys()
    moments: list[tuple[dt.datetime, Survey, services.Target, bool]] = []
    for case in (
        Case.objects.filter(resolved_at__gte=since, resolved_at__lte=now)
        .select_related("kind")
        .order_by("resolved_at", "pk")
    ):
        target = services.Target(
            contact_id=case.contact_id, touchpoint="case_resolved", object_kind="case",
            object_id=case.pk, department="service", staff_id=case.owner_id,
            occurred_at=case.resolved_at,
        )  # fmt: skip
        moments.append((case.resolved_at, csat, target, case.kind.key == "complaint"))  # type: ignore[arg-type]
    for deal in Deal.objects.filter(
        closed_at__gte=since, closed_at__lte=now, status__in=("won", "lost"),
        primary_contact__isnull=False,
    ).order_by("closed_at", "pk"):  # fmt: skip
        target = services.Target(
            contact_id=deal.primary_contact_id, touchpoint=f"deal_{deal.status}",  # type: ignore[arg-type]
            object_kind="deal", object_id=deal.pk, department="sales", staff_id=deal.owner_id,
            occurred_at=deal.closed_at,
        )  # fmt: skip
        moments.append((deal.closed_at, nps, target, deal.status == "won"))  # type: ignore[arg-type]
    moments.sort(key=lambda m: (m[0], m[2].object_kind, m[2].object_id or 0))
    answered = 0
    for when, survey, target, flag in moments:
        sent = min(now, when + dt.timedelta(minutes=rng.randint(5, 90)))
        result = services.invite_at(survey=survey, targets=[target], at=sent)
        if not result.invited or rng.random() > 0.36:
            continue
        at = sent + dt.timedelta(hours=rng.uniform(0.2, 96))
        if at >= now:
            continue  # not answered yet
        invitation = Invitation.objects.select_related("survey").get(pk=result.invited[0])
        questions = list(survey.questions.all())
        values: dict[str, object] = {}
        if survey is csat:
            score = _csat_score(rng, complaint=flag)
            values[f"q{questions[0].pk}"] = str(score)
            if rng.random() < 0.55:
                values[f"q{questions[1].pk}"] = rng.choice(CSAT_COMMENTS[score])
        else:
            score = _nps_score(rng, won=flag)
            band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            values[f"q{questions[0].pk}"] = str(score)
            if rng.random() < 0.8:
                values[f"q{questions[1].pk}"] = rng.choice(WHAT_MATTERS)
            if rng.random() < 0.6:
                values[f"q{questions[2].pk}"] = rng.choice(NPS_COMMENTS[band])
        services.response_submit(invitation=invitation, values=values, at=at)
        answered += 1
    decided = Invitation.objects.filter(survey__in=(csat, nps))
    invited = decided.filter(status=Invitation.Status.INVITED).count()
    return (
        f"Surveys: {CSAT_NAME!r} and {NPS_NAME!r}; {invited} invited, "
        f"{decided.count() - invited} not (consent, cap, address), {answered} answers."
    )
