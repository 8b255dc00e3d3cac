"""What sales holds about a person, for subject access and erasure (rapport.core.privacy).

A lead on the contact is about them (what they said of their need, budget and timing):
exported whole and erased. A role on a deal is removed; a deal whose primary contact they
were stays (it is the account's), without them.
"""

from __future__ import annotations

from typing import Any

from rapport.audit.services import audit_record, plain
from rapport.sales.models import Deal, DealRole, Lead

LEAD_FIELDS = (
    "id", "name", "email", "phone", "company_name", "country", "source", "status",
    "disqualify_reason", "score", "follow_up_on", "role", "need", "budget", "timing", "notes",
    "created_at", "converted_at",
)  # fmt: skip


def sales_export(*, contact_id: int) -> dict[str, Any]:
    leads = [
        {k: plain(v) for k, v in row.items()}
        for row in Lead.objects.filter(contact_id=contact_id).order_by("id").values(*LEAD_FIELDS)
    ]
    roles = [
        {"deal": r.deal_id, "deal_name": r.deal.name, "role": r.role, "primary": r.is_primary}
        for r in DealRole.objects.filter(contact_id=contact_id)
        .select_related("deal")
        .order_by("id")
    ]
    primary = list(
        Deal.objects.filter(primary_contact_id=contact_id)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return {"leads": leads, "deal_roles": roles, "primary_contact_of_deals": primary}


def sales_erase(*, actor: Any, contact_id: int) -> int:
    changed = 0
    for lead in Lead.objects.filter(contact_id=contact_id):
        audit_record(actor=actor, action="delete", entity_kind="lead", entity_id=lead.pk, obj=lead)
    changed += Lead.objects.filter(contact_id=contact_id).delete()[0]
    changed += DealRole.objects.filter(contact_id=contact_id).delete()[0]
    changed += Deal.objects.filter(primary_contact_id=contact_id).update(primary_contact=None)
    return changed
