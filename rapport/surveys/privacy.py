"""What surveys hold about a person, for export and erasure (``rapport.core.privacy``):
their invitations (asked or not, and why not) and their answers, free text included.

An erasure deletes them: the answers are the person's words, and a score kept without
them would still point at the case or deal it followed. The survey's figures then count
one answer fewer. The timeline entry of each answer is the timeline's to erase.
"""

from __future__ import annotations

from typing import Any

from rapport.core import privacy
from rapport.surveys.models import Answer, Invitation, SurveyResponse


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def surveys_export(*, contact_id: int) -> dict[str, Any]:
    invitations = (
        Invitation.objects.filter(contact_id=contact_id).select_related("survey").order_by("id")
    )
    responses = (
        SurveyResponse.objects.filter(contact_id=contact_id)
        .select_related("survey")
        .prefetch_related("answers__question")
        .order_by("id")
    )
    return {
        "invitations": [
            {
                "survey": i.survey.name, "touchpoint": i.touchpoint, "object_kind": i.object_kind,
                "object_id": i.object_id, "department": i.department, "status": i.status,
                "skip_reason": i.skip_reason, "skip_detail": i.skip_detail,
                "to_address": i.to_address, "sent_at": _iso(i.sent_at),
                "expires_at": _iso(i.expires_at), "answered_at": _iso(i.answered_at),
            }
            for i in invitations
        ],
        "responses": [
            {
                "survey": r.survey.name, "touchpoint": r.touchpoint, "department": r.department,
                "object_kind": r.object_kind, "object_id": r.object_id,
                "submitted_at": _iso(r.submitted_at), "score": r.score,
                "answers": [
                    {"question": a.question.text, "number": a.number, "choices": a.choices,
                     "text": a.text}
                    for a in r.answers.all()
                ],
            }
            for r in responses
        ],
    }  # fmt: skip


def surveys_erase(*, actor: Any, contact_id: int) -> int:
    changed = Answer.objects.filter(response__contact_id=contact_id).delete()[0]
    changed += SurveyResponse.objects.filter(contact_id=contact_id).delete()[0]
    changed += Invitation.objects.filter(contact_id=contact_id).delete()[0]
    return changed


def register_all() -> None:
    privacy.register(
        "surveys",
        export=surveys_export,
        erase=surveys_erase,
        models=("surveys.Invitation", "surveys.SurveyResponse"),
    )
