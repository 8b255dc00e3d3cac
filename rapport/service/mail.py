"""E-mail to case: mail that reaches a service address opens a case or threads onto one.

Mail ingestion stores every message on the timeline first (``ingest.mail.services``, with
its rule that mail reaches only contacts its bringer may see, decision 0012); this module
is one of its learners (``ingest.mail.learners``) and runs after that, for each message:

- it concerns a service mailbox when it came through the IMAP mailbox a ``ServiceMailbox``
  points at, or is addressed (To or Cc) to a service address;
- it threads onto a case when its In-Reply-To or References name a message of the case
  (only the people the case wrote to know those ids), or when its subject carries the
  case's reference (``C-000123``) *and* it comes from the case's contact or an address the
  case has heard from: a stranger quoting a reference opens a case of their own rather
  than writing into someone else's;
- otherwise it opens a new case for the sender's contact (one the bringer may see); a
  sender no contact has becomes a new contact when the service mailbox says so. A sender
  whose address some contact has that the bringer may not see opens nothing.

A reply to a closed case opens a new case that says which one it follows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from rapport.core.actor import Actor, Via
from rapport.customers.models import ContactEmail
from rapport.service.models import Case, CaseMessage, ServiceMailbox, pk_of_reference
from rapport.users.models import User

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    """What the case path needs of a received message."""

    message_id: str
    in_reply_to: str
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    text: str
    sent_at: Any
    entry: Any = None  # the timeline entry mail stored, if it reached a contact
    contacts: list[int] = field(default_factory=list)  # the contacts it reached
    mailbox_id: int | None = None


@dataclass
class _Batch:
    """What the messages of one delivery share, looked up once for all of them: the service
    mailbox their addresses and mailbox lead to, the Message-IDs already on a case, which
    senders are staff, and the case kinds by key. A message handled adds its id."""

    boxes: dict[tuple[tuple[str, ...], int | None], ServiceMailbox | None] = field(
        default_factory=dict
    )
    on_cases: set[str] = field(default_factory=set)
    staff: set[str] = field(default_factory=set)
    kinds: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, incomings: list[Incoming]) -> _Batch:
        ids = [i.message_id for i in incomings if i.message_id]
        senders = list(dict.fromkeys(i.from_address.lower() for i in incomings if i.from_address))
        staff_query = Q()
        for sender in senders:
            staff_query |= Q(email__iexact=sender)
        return cls(
            on_cases=set(
                CaseMessage.objects.filter(message_id__in=ids).values_list("message_id", flat=True)
            )
            if ids
            else set(),
            staff={
                e.lower() for e in User.objects.filter(staff_query).values_list("email", flat=True)
            }
            if senders
            else set(),
        )

    def box(self, incoming: Incoming) -> ServiceMailbox | None:
        key = (tuple(a for a in [*incoming.to, *incoming.cc] if a), incoming.mailbox_id)
        if key not in self.boxes:
            self.boxes[key] = service_mailbox_for(incoming)
        return self.boxes[key]

    def kind(self, key: str) -> Any:
        from rapport.service.models import CaseKind

        if key not in self.kinds:
            # Unknown or inactive: the key itself, and case_create says what is wrong.
            self.kinds[key] = CaseKind.objects.filter(key=key, active=True).first() or key
        return self.kinds[key]


@dataclass
class Outcome:
    status: str  # "opened", "threaded", "duplicate", "skipped"
    case: Case | None = None
    reason: str = ""


def _incoming_of(message: Any, result: Any, actor: Actor) -> Incoming:
    return Incoming(
        message_id=message.message_id,
        in_reply_to=message.in_reply_to,
        references=list(message.references),
        subject=message.subject,
        from_address=message.from_[1],
        from_name=message.from_[0],
        to=[a for _, a in message.to],
        cc=[a for _, a in message.cc],
        text=message.new_text or message.text,
        sent_at=message.sent_at,
        entry=result.entry if result.status in ("stored", "duplicate") else None,
        contacts=list(result.contacts),
        mailbox_id=(actor.context or {}).get("mailbox"),
    )


def service_mailbox_for(incoming: Incoming) -> ServiceMailbox | None:
    """The service mailbox a message came to, if any (one query)."""
    addresses = [a for a in [*incoming.to, *incoming.cc] if a]
    q = Q(address__in=addresses) if addresses else Q(pk__in=[])
    if incoming.mailbox_id:
        q |= Q(mailbox_id=incoming.mailbox_id)
    found = list(ServiceMailbox.objects.filter(q, active=True).select_related("kind", "team")[:5])
    if not found:
        return None
    by_mailbox = [s for s in found if incoming.mailbox_id and s.mailbox_id == incoming.mailbox_id]
    return (by_mailbox or found)[0]


def _thread_case(incoming: Incoming) -> Case | None:
    ids = [i for i in [incoming.in_reply_to, *incoming.references] if i]
    if ids:
        found = (
            CaseMessage.objects.filter(message_id__in=ids[-50:])
            .select_related("case")
            .order_by("-occurred_at", "-id")
            .first()
        )
        if found is not None:
            return found.case
    pk = pk_of_reference(incoming.subject)
    if pk is None:
        return None
    case = Case.objects.filter(pk=pk).first()
    if case is None:
        return None
    sender = incoming.from_address
    known = ContactEmail.objects.filter(contact_id=case.contact_id, email=sender).exists()
    if not known:
        known = CaseMessage.objects.filter(
            case=case, direction=CaseMessage.Direction.INBOUND, to_address=sender
        ).exists()
    return case if known else None


def _sender_contact(incoming: Incoming, box: ServiceMailbox, bringer: Any) -> int | None:
    """The sender's contact among those the message reached; a new contact for a sender
    no contact has (when the service mailbox creates contacts); None otherwise."""
    sender = incoming.from_address
    owners = list(ContactEmail.objects.filter(email=sender).values_list("contact_id", flat=True))
    reached = [c for c in owners if c in set(incoming.contacts)]
    if reached:
        return min(reached)
    if owners or not box.create_contacts:
        return None  # another team's contact, or contacts are not made from mail here
    from rapport.customers import services as customers
    from rapport.customers.services import ContactParts

    name = incoming.from_name or sender.split("@")[0]
    data: dict[str, Any] = {"full_name": name[:300], "source": f"service mailbox {box.address}"}
    if getattr(bringer, "pk", None):
        data["owner"] = bringer.pk
    contact = customers.contact_create(
        actor=Actor(user=None, via=Via.AUTOMATION, context={"path": "service mail"}),
        data=data,
        parts=ContactParts(emails=[{"email": sender}]),
    )
    return contact.pk


def case_from_mail(
    *, incoming: Incoming, bringer: Any = None, batch: _Batch | None = None
) -> Outcome:
    """Open or thread a case for one received message (see the module's rules). ``batch``:
    what the messages of its delivery share, looked up once (``from_mail_many``)."""
    from rapport.service import services

    box = batch.box(incoming) if batch is not None else service_mailbox_for(incoming)
    if box is None:
        return Outcome("skipped", reason="not to a service mailbox")
    sender = incoming.from_address
    if not sender or sender == box.address:
        return Outcome("skipped", reason="from the service address itself")
    if batch is not None:
        on_case = incoming.message_id in batch.on_cases
        staff = sender.lower() in batch.staff
    else:
        on_case = bool(incoming.message_id) and (
            CaseMessage.objects.filter(message_id=incoming.message_id).exists()
        )
        staff = User.objects.filter(email__iexact=sender).exists()
    if on_case:
        return Outcome("duplicate")
    if staff:
        return Outcome("skipped", reason="from staff")
    actor = Actor(
        user=None,
        via=Via.AUTOMATION,
        context={
            "path": "service mail",
            "service_mailbox": box.pk,
            "brought_by": getattr(bringer, "username", "") or "system",
            "message_id": incoming.message_id,
        },
    )
    message = {
        "message_id": incoming.message_id,
        "in_reply_to": incoming.in_reply_to,
        "references": incoming.references,
        "subject": incoming.subject,
        "body": incoming.text,
        "from_address": sender,
        "entry": incoming.entry,
        "channel": CaseMessage.Channel.EMAIL,
    }
    with transaction.atomic():
        case = _thread_case(incoming)
        if case is not None and case.status != Case.Status.CLOSED:
            services.message_add_inbound(
                case=case, message={**message, "at": incoming.sent_at}, checked=True
            )
            if case.status in (Case.Status.WAITING_CUSTOMER, Case.Status.RESOLVED):
                services.case_status_change(actor=actor, case=case, status=Case.Status.OPEN)
            return Outcome("threaded", case=case)
        contact_id = (
            case.contact_id if case is not None else _sender_contact(incoming, box, bringer)
        )
        if contact_id is None:
            return Outcome("skipped", reason="the sender is not a contact this mailbox reaches")
        description = incoming.text
        if case is not None:
            description = f"Follows {case.reference}, which was closed.\n\n{description}"
        new = services.case_create(
            actor=actor,
            data={
                "contact": contact_id,
                "subject": (incoming.subject or "(no subject)")[:300],
                "description": description[:100_000],
                "kind": box.kind
                if box.kind
                else (batch.kind("inquiry") if batch is not None else "inquiry"),
                "priority": box.priority,
                "channel": Case.Channel.EMAIL,
                "team": box.team,
                "owner": None,
            },
            inbound_message={**message, "contact_id": contact_id, "checked": True},
        )
    return Outcome("opened", case=new)


# --- the learner hooks (registered in ServiceConfig.ready) ------------------------------------


def from_mail(*, message: Any, result: Any, actor: Actor) -> None:
    """Each message as mail stores it (IMAP polls, the webhook, inline files). A failure
    here never loses the message: it is logged and rolled back on its own."""
    try:
        with transaction.atomic():
            case_from_mail(incoming=_incoming_of(message, result, actor), bringer=actor.user)
    except Exception:
        logger.exception("Could not make a case of message %s", message.message_id)


def from_mail_many(*, pairs: list[tuple[Any, Any]], actor: Actor) -> None:
    """The messages of one delivery (an IMAP poll's fetch), in order: what they share read
    once, then each as ``from_mail`` handles it, a failure rolled back on its own."""
    from rapport.service.sla import targets

    incomings = [_incoming_of(message, result, actor) for message, result in pairs]
    batch = _Batch.of(incomings)
    with targets.read_once():
        for incoming in incomings:
            _case_of_one(incoming, actor, batch)


def _case_of_one(incoming: Incoming, actor: Actor, batch: _Batch) -> None:
    try:
        with transaction.atomic():
            outcome = case_from_mail(incoming=incoming, bringer=actor.user, batch=batch)
    except Exception:
        logger.exception("Could not make a case of message %s", incoming.message_id)
    else:
        if incoming.message_id and outcome.status in ("opened", "threaded"):
            batch.on_cases.add(incoming.message_id)


def from_entries(*, entry_ids: list[int], bringer_id: int | None = None) -> int:
    """Messages of a file, read back from their timeline entries (the worker's path)."""
    from rapport.ingest.mail.services import SOURCE
    from rapport.timeline.models import Entry, EntryLink

    bringer = User.objects.filter(pk=bringer_id).first() if bringer_id else None
    done = 0
    entries = Entry.objects.filter(pk__in=entry_ids, source=SOURCE, kind="email").order_by("id")
    for entry in entries:
        data = entry.data or {}
        contacts = list(
            EntryLink.objects.filter(entry=entry, contact__isnull=False).values_list(
                "contact_id", flat=True
            )
        )
        incoming = Incoming(
            message_id=entry.external_id,
            in_reply_to=str(data.get("in_reply_to") or ""),
            references=[],
            subject=str(data.get("subject") or entry.summary),
            from_address=str(data.get("from") or ""),
            from_name=str(data.get("from_name") or ""),
            to=list(data.get("to") or []),
            cc=list(data.get("cc") or []),
            text=entry.body,
            sent_at=entry.occurred_at,
            entry=entry,
            contacts=contacts,
        )
        try:
            with transaction.atomic():
                if case_from_mail(incoming=incoming, bringer=bringer).status in (
                    "opened",
                    "threaded",
                ):
                    done += 1
        except Exception:
            logger.exception("Could not make a case of entry %s", entry.pk)
    return done
