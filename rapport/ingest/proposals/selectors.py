"""Reading proposals: the steward's review queue, one proposal, the counts, a contact's
open proposals. Every read checks the actor may see proposals (managers read, stewards
decide, admins also set the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.customers import normalize
from rapport.customers.models import AccountMembership, Contact
from rapport.ingest.models import FactField, Proposal
from rapport.users import permissions
from rapport.users.models import RecordKind

ORDER = ["-created_at", "-id"]


def require_reader(actor: Any) -> None:
    permissions.require(actor, "view", RecordKind.PROPOSAL)


def _base(actor: Any) -> QuerySet[Proposal]:
    require_reader(actor)
    return Proposal.objects.select_related("contact", "account", "decided_by", "entry")


def proposal_list(
    *,
    actor: Any,
    state: str = Proposal.State.PENDING,
    kind: str = "",
    field: str = "",
    contact: int | None = None,
    cursor: str | None = None,
    size: int = 25,
) -> Page:
    """One page of proposals, newest first; the open ones unless ``state`` says otherwise
    ("" for every state). Each item's contact comes with its phones, addresses and
    accounts, so "now" and "proposed" show side by side without a query per row."""
    errors: dict[str, list[str]] = {}
    if state and state not in Proposal.State.values:
        errors["state"] = [f"Choose one of {', '.join(Proposal.State.values)}."]
    if kind and kind not in Proposal.Kind.values:
        errors["kind"] = [f"Choose one of {', '.join(Proposal.Kind.values)}."]
    if field and field not in FactField.values:
        errors["field"] = [f"Choose one of {', '.join(FactField.values)}."]
    if errors:
        raise ValidationFailed("Invalid filter.", errors=errors)
    qs = _base(actor).prefetch_related(
        "contact__phones",
        "contact__addresses",
        Prefetch(
            "contact__memberships",
            queryset=AccountMembership.objects.select_related("account").order_by(
                "-is_primary", "id"
            ),
        ),
    )
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if field:
        qs = qs.filter(field=field)
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    return keyset_page(qs, order=ORDER, cursor=cursor, size=size)


def proposal_counts(*, actor: Any, state: str = Proposal.State.PENDING) -> dict[str, int]:
    """How many proposals of each kind and field are in ``state``; "all" is the total."""
    require_reader(actor)
    out: dict[str, int] = {"all": 0}
    rows = (
        Proposal.objects.filter(state=state)
        .values("kind", "field")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        out["all"] += row["n"]
        out[row["kind"]] = out.get(row["kind"], 0) + row["n"]
        if row["field"]:
            out[row["field"]] = out.get(row["field"], 0) + row["n"]
    return out


def proposal_get(*, actor: Any, pk: int) -> Proposal:
    found = _base(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("No such proposal.")
    return found


def capture_settings_read(*, actor: Any) -> Any:
    from rapport.ingest.proposals.services import capture_settings_get

    require_reader(actor)
    return capture_settings_get()


# --- "now" and "proposed", in words ---------------------------------------------------------


def current_value(proposal: Proposal) -> str:
    """What the record says now about the proposal's field, as the steward reads it
    (uses prefetched parts when the queryset has them)."""
    contact: Contact | None = proposal.contact
    if contact is None:
        return ""
    field = proposal.field
    if field in (FactField.PHONE, FactField.MOBILE):
        return ", ".join(
            f"{normalize.format_phone(p.e164)}{' (primary)' if p.is_primary else ''}"
            for p in contact.phones.all()
        )
    if field == FactField.TITLE:
        return contact.job_title
    if field in (FactField.COMPANY, FactField.WEBSITE):
        return ", ".join(m.account.name for m in contact.memberships.all())
    if field == FactField.ADDRESS:
        return "; ".join(str(a) for a in contact.addresses.all())
    return ""


def proposed_value(proposal: Proposal) -> str:
    value = proposal.value or {}
    if proposal.kind == Proposal.Kind.NEW_CONTACT:
        name = " ".join(p for p in (value.get("given_name"), value.get("family_name")) if p)
        extra = ", ".join(p for p in (value.get("job_title"), value.get("company")) if p)
        return f"{name} <{value.get('email', '')}>" + (f" · {extra}" if extra else "")
    field = proposal.field
    if field in (FactField.PHONE, FactField.MOBILE):
        return normalize.format_phone(str(value.get("number") or ""))
    if field == FactField.TITLE:
        return str(value.get("title") or "")
    if field == FactField.COMPANY:
        return str(value.get("company") or "")
    if field == FactField.ADDRESS:
        parts = [value.get(k) for k in ("street", "postal_code", "city", "region", "country")]
        return ", ".join(str(p) for p in parts if p)
    if field == FactField.WEBSITE:
        return str(value.get("url") or value.get("domain") or "")
    return ""


@dataclass
class Row:
    proposal: Proposal
    current: str
    proposed: str


def rows(items: list[Proposal]) -> list[Row]:
    return [Row(p, current_value(p), proposed_value(p)) for p in items]
