"""What service holds about a person, for subject access and erasure (rapport.core.privacy).

A person's cases are about them (what they asked, complained of, and what was answered and
noted about it): exported whole, internal notes included (they are data about the person),
and erased whole. A message they wrote on someone else's case (a colleague in copy) loses
its author link and its text.
"""

from __future__ import annotations

from typing import Any

from rapport.audit.services import audit_record, plain
from rapport.service.models import Case, CaseMessage

CASE_FIELDS = (
    "id", "subject", "description", "topic", "channel", "priority", "status", "created_at",
    "first_response_at", "resolved_at", "closed_at", "close_reason",
)  # fmt: skip
MESSAGE_FIELDS = ("id", "direction", "channel", "occurred_at", "subject", "body", "to_address")


def service_export(*, contact_id: int) -> dict[str, Any]:
    cases = []
    for case in Case.objects.filter(contact_id=contact_id).select_related("kind").order_by("id"):
        row = {k: plain(getattr(case, k)) for k in CASE_FIELDS}
        row["reference"] = case.reference
        row["kind"] = case.kind.key
        row["messages"] = [
            {k: plain(v) for k, v in m.items()}
            for m in case.messages.order_by("occurred_at", "id").values(*MESSAGE_FIELDS)
        ]
        row["status_changes"] = [
            {k: plain(v) for k, v in c.items()}
            for c in case.status_changes.order_by("at", "id").values(
                "from_status", "to_status", "at"
            )
        ]
        cases.append(row)
    written = [
        {"case": m["case_id"], **{k: plain(m[k]) for k in MESSAGE_FIELDS}}
        for m in CaseMessage.objects.filter(author_contact_id=contact_id)
        .exclude(case__contact_id=contact_id)
        .order_by("id")
        .values("case_id", *MESSAGE_FIELDS)
    ]
    return {"cases": cases, "messages_on_other_cases": written}


def service_erase(*, actor: Any, contact_id: int) -> int:
    changed = 0
    for case in Case.objects.filter(contact_id=contact_id):
        audit_record(actor=actor, action="delete", entity_kind="case", entity_id=case.pk, obj=case)
    changed += Case.objects.filter(contact_id=contact_id).delete()[0]
    changed += CaseMessage.objects.filter(author_contact_id=contact_id).update(
        author_contact=None, body="", subject="", to_address=""
    )
    return changed
