"""E-mail to lead: mail that reaches a sales mailbox opens a sales lead.

A shared IMAP mailbox flagged "opens leads" (``ingest.Mailbox.opens_leads``, sales@…) is a
sales mailbox. Mail ingestion stores each message first (on the timelines of the contacts
it reaches, ``ingest.mail.services``); this module is one of its learners
(``ingest.mail.learners``, registered in ``SalesConfig.ready``) and runs after that:

- a message concerns a sales mailbox when it came through that mailbox's poll, or when it
  is addressed (To or Cc) to the mailbox's own address (the webhook, a file);
- mail from the sales address itself, and from staff, opens nothing;
- a person who has an open lead already (new, working or qualified, not converted; by the
  address or their contact, whoever owns it) does not get a second one;
- otherwise ``lead_create`` makes the lead, with source "email", the sender's name and
  address, the subject as the need and the message in the notes. It runs the one duplicate
  check, so a known person's lead is on their existing contact, never a second record; and
  the assignment rules give it an owner (round robin, country, the account's owner).

A failure here never loses the message: it is logged and rolled back on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from rapport.core.actor import Actor, Via
from rapport.customers import normalize
from rapport.ingest.models import Mailbox
from rapport.sales import services
from rapport.sales.imports import open_lead_for
from rapport.sales.models import Lead
from rapport.users.models import User

logger = logging.getLogger(__name__)
SOURCE = "email"


@dataclass
class Incoming:
    """What the lead path needs of a received message."""

    message_id: str
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    text: str
    mailbox_id: int | None = None


@dataclass
class Outcome:
    status: str  # "opened", "open already", "skipped"
    lead: Lead | None = None
    reason: str = ""


def sales_mailbox_for(incoming: Incoming) -> Mailbox | None:
    """The sales mailbox a message came to (by its poll, else by address), or None: one
    query."""
    addresses = [a.lower() for a in [*incoming.to, *incoming.cc] if a]
    q = Q(address__in=addresses) if addresses else Q(pk__in=[])
    if incoming.mailbox_id:
        q |= Q(pk=incoming.mailbox_id)
    found = list(Mailbox.objects.filter(q, opens_leads=True, owner__isnull=True)[:5])
    by_poll = [m for m in found if m.pk == incoming.mailbox_id]
    chosen = by_poll or found
    return chosen[0] if chosen else None


def lead_from_mail(*, incoming: Incoming) -> Outcome:
    """Open a lead for one received message (see the module's rules)."""
    box = sales_mailbox_for(incoming)
    if box is None:
        return Outcome("skipped", reason="not to a sales mailbox")
    try:
        sender = (
            normalize.normalize_email(incoming.from_address)[0] if incoming.from_address else ""
        )
    except ValueError:
        return Outcome("skipped", reason="no sender address")
    if not sender or sender in {box.address, box.username.lower()}:
        return Outcome("skipped", reason="from the sales address itself")
    if User.objects.filter(email__iexact=sender).exists():
        return Outcome("skipped", reason="from staff")
    with transaction.atomic():
        existing = open_lead_for(email=sender)
        if existing is not None:
            return Outcome("open already", lead=existing)
        actor = Actor(
            user=None,
            via=Via.AUTOMATION,
            context={"path": "sales mail", "mailbox": box.pk, "message_id": incoming.message_id},
        )
        name = " ".join(incoming.from_name.split())[:200]
        subject = " ".join(incoming.subject.split())
        body = f"E-mail to {box.address or box.name}: {subject or '(no subject)'}\n\n{incoming.text}".strip()
        lead = services.lead_create(
            actor=actor,
            data={
                "name": name,
                "email": sender,
                "source": SOURCE,
                "need": subject[:5000],
                "notes": normalize.strip_controls(body)[:10000],
            },
            assign=True,
        )
    return Outcome("opened", lead=lead)


# --- the learner hooks (registered in SalesConfig.ready) ------------------------------------


def _safely(incoming: Incoming) -> Outcome | None:
    try:
        with transaction.atomic():
            return lead_from_mail(incoming=incoming)
    except Exception:
        logger.exception("Could not make a lead of message %s", incoming.message_id)
        return None


def from_mail(*, message: Any, result: Any, actor: Actor) -> None:
    """Each message as mail stores it (IMAP polls, the webhook, files read inline)."""
    _safely(
        Incoming(
            message_id=message.message_id,
            subject=message.subject,
            from_address=message.from_[1],
            from_name=message.from_[0],
            to=[a for _, a in message.to],
            cc=[a for _, a in message.cc],
            text=message.new_text or message.text,
            mailbox_id=(actor.context or {}).get("mailbox"),
        )
    )


def from_entries(*, entry_ids: list[int], actor: Actor) -> None:
    """Messages of a file learned from later, read back from their timeline entries. Only
    entries addressed to a sales address are read (one query when there is none)."""
    from rapport.ingest.mail.services import SOURCE as MAIL
    from rapport.timeline.models import Entry

    if (
        not Mailbox.objects.filter(opens_leads=True, owner__isnull=True)
        .exclude(address="")
        .exists()
    ):
        return
    for entry in Entry.objects.filter(pk__in=entry_ids, source=MAIL, kind="email").order_by("id"):
        data = entry.data or {}
        _safely(
            Incoming(
                message_id=entry.external_id,
                subject=str(data.get("subject") or entry.summary),
                from_address=str(data.get("from") or ""),
                from_name=str(data.get("from_name") or ""),
                to=list(data.get("to") or []),
                cc=list(data.get("cc") or []),
                text=entry.body,
            )
        )
