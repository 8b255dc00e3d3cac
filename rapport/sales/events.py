"""Timeline events of sales: a deal created, moved, won or lost; a lead created or converted.

Each deal event goes on the account's timeline and on that of each person with a role on
the deal (and its primary contact). Registered by ``SalesConfig.ready``; the timeline's
system check (``timeline.E001``) fails if a kind declared here is not.
"""

from __future__ import annotations

from typing import Any

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Entry

DEAL_CREATED = events.KindInfo("deal_created", "Deal created", Department.SALES, Channel.OTHER)
DEAL_STAGE = events.KindInfo("deal_stage", "Deal stage changed", Department.SALES, Channel.OTHER)
DEAL_WON = events.KindInfo("deal_won", "Deal won", Department.SALES, Channel.OTHER)
DEAL_LOST = events.KindInfo("deal_lost", "Deal lost", Department.SALES, Channel.OTHER)
LEAD_CREATED = events.KindInfo("lead_created", "Lead created", Department.SALES, Channel.OTHER)
LEAD_CONVERTED = events.KindInfo(
    "lead_converted", "Lead converted", Department.SALES, Channel.OTHER
)
TIMELINE_KINDS = (DEAL_CREATED, DEAL_STAGE, DEAL_WON, DEAL_LOST, LEAD_CREATED, LEAD_CONVERTED)


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def _people(deal: Any) -> list[int]:
    ids = set(deal.roles.values_list("contact_id", flat=True))
    if deal.primary_contact_id:
        ids.add(deal.primary_contact_id)
    return sorted(ids)


def _money(deal: Any) -> str:
    return f"{deal.amount:,.2f} {deal.currency}"


def deal_created(*, actor: Actor, deal: Any) -> Entry:
    return events.record(
        kind=DEAL_CREATED.name,
        summary=f"Deal {deal.name} ({_money(deal)}) opened at {deal.stage.name}",
        contacts=_people(deal),
        accounts=[deal.account_id],
        staff=actor.user,
        data={"deal": deal.pk, "stage": deal.stage_id},
    )


def deal_stage_changed(*, actor: Actor, deal: Any, old: Any, new: Any) -> Entry:
    """A move between stages; winning and losing are their own kinds."""
    if new.kind == "won":
        kind, summary = DEAL_WON.name, f"Deal {deal.name} won ({_money(deal)})"
    elif new.kind == "lost":
        reason = f": {deal.lost_reason.name}" if deal.lost_reason_id else ""
        kind, summary = DEAL_LOST.name, f"Deal {deal.name} lost{reason}"
    else:
        kind, summary = DEAL_STAGE.name, f"Deal {deal.name}: {old.name} → {new.name}"
    return events.record(
        kind=kind,
        summary=summary,
        contacts=_people(deal),
        accounts=[deal.account_id],
        staff=actor.user,
        data={"deal": deal.pk, "from": old.pk, "to": new.pk},
    )


def lead_created(*, actor: Actor, lead: Any) -> Entry | None:
    """On the person's timeline once the lead is on a known contact (or account)."""
    if not (lead.contact_id or lead.account_id):
        return None
    return events.record(
        kind=LEAD_CREATED.name,
        summary=f"Sales lead from {lead.source or 'unknown source'}",
        contacts=[lead.contact_id] if lead.contact_id else [],
        accounts=[lead.account_id] if lead.account_id else [],
        staff=actor.user,
        body=lead.need,
        data={"lead": lead.pk},
    )


def lead_converted(*, actor: Actor, lead: Any, deal: Any) -> Entry:
    return events.record(
        kind=LEAD_CONVERTED.name,
        summary=f"Lead converted into deal {deal.name}",
        contacts=[lead.contact_id] if lead.contact_id else [],
        accounts=[deal.account_id],
        staff=actor.user,
        data={"lead": lead.pk, "deal": deal.pk},
    )
