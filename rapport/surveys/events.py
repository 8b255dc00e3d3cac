"""Timeline events of surveys: a person's answer, on their timeline (and their account's),
tagged with the touchpoint it follows and the department responsible for it.

Registered by ``SurveysConfig.ready`` (``register``); ``timeline.E001`` fails the build
for a kind declared here and not registered.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Direction, Entry

if TYPE_CHECKING:
    from rapport.surveys.models import Invitation

SURVEY_ANSWER = events.KindInfo(
    "survey_answer", "Survey answer", department=Department.OTHER, channel=Channel.WEB
)
TIMELINE_KINDS = (SURVEY_ANSWER,)
SOURCE = "surveys.response"


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def answer_recorded(
    *,
    invitation: Invitation,
    summary: str,
    body: str,
    score: int | None,
    account_ids: list[int],
    at: dt.datetime,
) -> Entry:
    """The answer on the person's timeline; ``data`` carries the survey, the touchpoint,
    the object it follows (``{"case": 12}`` for a case) and the department."""
    data: dict[str, object] = {
        "survey": invitation.survey_id,
        "invitation": invitation.pk,
        "touchpoint": invitation.touchpoint,
        "department": invitation.department,
        "object_kind": invitation.object_kind,
        "object_id": invitation.object_id,
        "score": score,
    }
    if invitation.object_kind and invitation.object_id:
        data[invitation.object_kind] = invitation.object_id
    return events.record(
        kind=SURVEY_ANSWER.name,
        summary=summary[:300],
        body=body,
        contacts=[invitation.contact_id],
        accounts=account_ids,
        occurred_at=at,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        department=invitation.department,
        source=SOURCE,
        external_id=str(invitation.pk),
        data=data,
    )
