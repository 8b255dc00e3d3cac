"""Proposals: what incoming e-mail suggests about customers, applied by an admin's rule or
decided by a data steward (issue 5).

``from_mail`` runs after every message ``mail.receive`` reads, whatever the channel:

* A message a known contact sent: its signature (``signature.read``) is compared with the
  contact's record. Each fact the record lacks (a new mobile number, another title) becomes
  a ``Proposal`` with its evidence (the message and the line). The admin's rule for the
  field (``CaptureSettings.rules``) applies it at once ("auto": a new number is added as an
  extra one, never replacing or demoting the primary), queues it for the steward
  ("review") or drops it ("ignore"). A fact about a contact read in someone else's message
  (a colleague forwarding their mail) is never applied without review.
* A message from a sender no contact has (not staff, not a no-reply, list or role address):
  a proposed new contact, with the account owning the sender's domain (never a free-mail
  one), the signature's fields and the duplicate check's likely existing contacts. The
  message itself is kept in the proposal (attachments in storage) and stored on the new
  contact's timeline when the steward accepts.

The same suggestion again (the key: contact, field and normalised value; or the sender's
address) adds a sighting to the open proposal instead of a new one; a suggestion the
steward rejected is not proposed again. Applying always goes through the customer services
with an ``Actor`` whose ``context`` names the proposal, the timeline entry, the message and
the line, so the audit trail says where each fact came from.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.audit.models import AuditEntry, Via
from rapport.audit.services import Actor, audit_record
from rapport.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.transactions import after_commit
from rapport.customers import normalize
from rapport.customers import services as customer_services
from rapport.customers.models import Account, Contact, ContactEmail
from rapport.customers.selectors import account_for_email
from rapport.customers.services import ContactParts
from rapport.identity import selectors as identity_selectors
from rapport.identity.compare import is_role_address, organisation_domain, registered_domain
from rapport.ingest.mail import services as mail
from rapport.ingest.mail import signature
from rapport.ingest.mail.services import MailAttachment, Message, StoreResult
from rapport.ingest.models import CaptureSettings, FactAction, FactField, Proposal
from rapport.timeline.models import Direction, Entry
from rapport.users import permissions
from rapport.users.models import RecordKind, User

if TYPE_CHECKING:
    from rapport.ingest.textfields import Fields

logger = logging.getLogger(__name__)

# For a message the contact sent themselves, when the admin has set no rule.
DEFAULT_RULES: dict[str, str] = {
    FactField.PHONE: FactAction.AUTO,
    FactField.MOBILE: FactAction.AUTO,
    FactField.TITLE: FactAction.REVIEW,
    FactField.COMPANY: FactAction.REVIEW,
    FactField.ADDRESS: FactAction.REVIEW,
    FactField.WEBSITE: FactAction.REVIEW,
}
SOURCE = "mail signature"
MAX_SEEN = 20  # sightings kept in the evidence (the count goes on)
MAX_MESSAGES = 10  # messages of an unknown sender kept for the timeline
MAX_TEXT = 200_000
DECIDED = (Proposal.State.ACCEPTED, Proposal.State.REJECTED, Proposal.State.OBSOLETE)

# Senders that are machines or lists, never people to add.
_MACHINE = re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|noreply-.*|no-reply-.*|mailer-daemon|postmaster|"
    r"bounces?|bounce-.*|.*-bounces?|.*-request|.*-owner|owner-.*|listserv|majordomo|"
    r"notifications?|notify|alerts?|newsletters?|news|updates|automated|daemon|root)$",
    re.IGNORECASE,
)


# --- settings --------------------------------------------------------------------------------


def capture_settings_get() -> CaptureSettings:
    """The rules (one row, created with the defaults on first use)."""
    found = CaptureSettings.objects.filter(pk=1).first()
    if found is None:
        found, _ = CaptureSettings.objects.get_or_create(pk=1)
    return found


def rule_for(conf: CaptureSettings, field: str) -> str:
    value = (conf.rules or {}).get(field)
    return value if value in FactAction.values else DEFAULT_RULES.get(field, FactAction.REVIEW)


def require_admin(user: Any) -> None:
    # Deciding is "change" on proposals; the rules are the admins' ("delete"), as for the
    # matching settings of duplicates.
    permissions.require(user, "delete", RecordKind.PROPOSAL)


def capture_settings_update(
    *,
    actor: Actor,
    rules: dict[str, str] | None = None,
    unknown_senders: bool | None = None,
    expected_version: int | None = None,
) -> CaptureSettings:
    """Change the per-field actions and the unknown-senders switch (admins only). Fields not
    in ``rules`` keep their action; a stale ``expected_version`` changes nothing."""
    require_admin(actor.user)
    errors: dict[str, list[str]] = {}
    cleaned_rules: dict[str, str] = {}
    for name, action in (rules or {}).items():
        if name not in FactField.values:
            errors.setdefault("rules", []).append(f"{name}: unknown field.")
        elif action not in FactAction.values:
            errors.setdefault("rules", []).append(
                f"{name}: choose one of {', '.join(FactAction.values)}."
            )
        else:
            cleaned_rules[name] = action
    if errors:
        raise ValidationFailed("The capture settings have invalid values.", errors=errors)
    with transaction.atomic():
        capture_settings_get()
        conf = CaptureSettings.objects.select_for_update().get(pk=1)
        if expected_version is not None and conf.version != expected_version:
            raise VersionConflict(
                "The capture settings were changed by someone else (now version "
                f"{conf.version}, you had {expected_version}).",
                current_version=conf.version,
            )
        old_rules = {f: rule_for(conf, f) for f in FactField.values}
        before: dict[str, Any] = {"rules": old_rules, "unknown_senders": conf.unknown_senders}
        new_rules = {**old_rules, **cleaned_rules}
        after: dict[str, Any] = {
            "rules": new_rules,
            "unknown_senders": conf.unknown_senders if unknown_senders is None else unknown_senders,
        }
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changes:
            conf.rules = new_rules
            conf.unknown_senders = bool(after["unknown_senders"])
            conf.version += 1
            conf.updated_by = actor.user if getattr(actor.user, "pk", None) else None
            conf.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                entity_kind="capture_settings",
                entity_id=conf.pk,
                obj=conf,
                changes=changes,
            )
    return conf


# --- facts of a signature --------------------------------------------------------------------


@dataclass
class Fact:
    field: str
    value: dict[str, Any]
    norm: str  # the normalised value in the key
    line: str


def _fold(text: str) -> str:
    return normalize.fold(text or "").strip()


def _website_domain(url: str) -> str:
    host = re.sub(r"^[a-z]+://", "", (url or "").strip().lower()).split("/")[0].split(":")[0]
    return organisation_domain(host)


def _address_value(address: dict[str, str]) -> dict[str, str]:
    country = address.get("country") or ""
    try:
        country = normalize.normalize_country(country) if country else ""
    except ValueError:
        country = ""
    return {
        "street": address.get("street", ""),
        "postal_code": address.get("postcode") or address.get("postal_code") or "",
        "city": address.get("city", ""),
        "region": address.get("region", ""),
        "country": country,
    }


def _address_norm(value: dict[str, Any]) -> str:
    return "|".join(
        _fold(str(value.get(k) or "")) for k in ("street", "postal_code", "city")
    ).strip("|")


def facts_of(fields: Fields) -> list[Fact]:
    """Each fact a signature states, in FactField terms."""
    out: list[Fact] = []
    seen: set[str] = set()
    for phone in fields.phones:
        name = FactField.MOBILE if phone.kind == "mobile" else FactField.PHONE
        if phone.e164 in seen:
            continue
        seen.add(phone.e164)
        out.append(Fact(name, {"number": phone.e164, "kind": phone.kind}, phone.e164, phone.line))
    if fields.title:
        out.append(
            Fact(
                FactField.TITLE,
                {"title": fields.title[:150]},
                _fold(fields.title),
                fields.sources.get("title", fields.title),
            )  # fmt: skip
        )
    if fields.company and normalize.normalize_org_name(fields.company):
        out.append(
            Fact(
                FactField.COMPANY,
                {"company": fields.company[:200]},
                normalize.normalize_org_name(fields.company),
                fields.sources.get("company", fields.company),
            )  # fmt: skip
        )
    if fields.address and (fields.address.get("street") or fields.address.get("city")):
        value = _address_value(fields.address)
        out.append(
            Fact(FactField.ADDRESS, value, _address_norm(value), fields.sources.get("address", ""))
        )
    for url in fields.websites[:1]:
        domain = _website_domain(url)
        if domain:
            out.append(
                Fact(
                    FactField.WEBSITE,
                    {"url": url, "domain": domain},
                    domain,
                    fields.sources.get("websites", url),
                )  # fmt: skip
            )
    return out


def _primary_account(contact: Contact) -> Account | None:
    membership = contact.memberships.select_related("account").order_by("-is_primary", "id").first()
    return membership.account if membership else None


def fact_present(contact: Contact, field: str, value: dict[str, Any]) -> bool:
    """Whether the record already says this (then there is nothing to propose)."""
    if field in (FactField.PHONE, FactField.MOBILE):
        try:
            e164, _ = normalize.normalize_phone(str(value.get("number") or ""))
        except ValueError:
            return False
        return contact.phones.filter(e164=e164).exists()
    if field == FactField.TITLE:
        return _fold(contact.job_title) == _fold(str(value.get("title") or ""))
    if field == FactField.COMPANY:
        name = normalize.normalize_org_name(str(value.get("company") or ""))
        if value.get("account"):
            return contact.memberships.filter(account_id=value["account"]).exists()
        names = {normalize.normalize_org_name(a.name) for a in contact.accounts.all()}
        return name in names
    if field == FactField.ADDRESS:
        wanted = _address_norm(value)
        have = {
            _address_norm({"street": a.street, "postal_code": a.postal_code, "city": a.city})
            for a in contact.addresses.all()
        }
        return wanted in have
    if field == FactField.WEBSITE:
        domain = str(value.get("domain") or _website_domain(str(value.get("url") or "")))
        domains = {registered_domain(d) for d in contact.emails.values_list("domain", flat=True)}
        for account in contact.accounts.all():
            domains |= {registered_domain(d.domain) for d in account.domains.all()}
        return registered_domain(domain) in domains
    return False


# --- from_mail -------------------------------------------------------------------------------


def from_mail(*, message: Message, result: StoreResult, actor: Actor) -> None:
    """Learn from a received message (signature facts, unknown senders). Learning never
    loses the message: a failure here is logged and rolled back on its own."""
    try:
        with transaction.atomic():
            if result.status == "stored" and result.entry is not None:
                _facts_from_mail(message=message, entry=result.entry, actor=actor)
                if result.entry.direction == Direction.INBOUND:
                    # An unknown sender writing to a known contact is a person to add too.
                    _unknown_sender(message=message, result=result, actor=actor)
            elif result.status == "unmatched":
                _unknown_sender(message=message, result=result, actor=actor)
    except Exception:
        logger.exception("Could not learn from message %s", message.message_id)


def from_entries(*, entry_ids: list[int], actor: Actor) -> int:
    """Learn from e-mails already on the timeline (stored from a file, learned later by the
    worker): the message is read back from its entry. Returns how many were read."""
    done = 0
    for entry in Entry.objects.filter(pk__in=entry_ids, source=mail.SOURCE, kind="email").order_by(
        "id"
    ):
        data = entry.data or {}
        message = Message(
            message_id=entry.external_id,
            in_reply_to=str(data.get("in_reply_to") or ""),
            references=[],
            thread_id=str(data.get("thread_id") or entry.external_id),
            subject=str(data.get("subject", entry.summary)),
            sent_at=entry.occurred_at,
            from_=(str(data.get("from_name") or ""), str(data.get("from") or "")),
            to=[("", a) for a in data.get("to") or []],
            cc=[("", a) for a in data.get("cc") or []],
            text=entry.body,
            new_text=entry.body,
        )
        try:
            with transaction.atomic():
                _facts_from_mail(message=message, entry=entry, actor=actor)
                if entry.direction == Direction.INBOUND:
                    stored = StoreResult("stored", entry=entry)
                    _unknown_sender(message=message, result=stored, actor=actor)
        except Exception:
            logger.exception("Could not learn from message %s", entry.external_id)
        done += 1
    return done


def _only_contact(address: str) -> Contact | None:
    # An address two contacts share says nothing about which of them signed.
    found = list(Contact.objects.filter(emails__email=address).order_by()[:2])
    return found[0] if len(found) == 1 else None


def _region_of(contact: Contact) -> str | None:
    address = contact.addresses.order_by("-is_primary", "id").first()
    return address.country if address is not None and address.country else None


def _evidence(message: Message, entry: Entry | None, line: str, lines: list[str]) -> dict[str, Any]:
    return {
        "source": "mail",
        "entry": entry.pk if entry is not None else None,
        "message_id": message.message_id,
        "subject": message.subject,
        "sent_at": message.sent_at.isoformat(),
        "from": message.from_[1],
        "from_name": message.from_[0],
        "line": line,
        "signature": lines,
    }


def _sighting(evidence: dict[str, Any]) -> dict[str, Any]:
    keys = ("entry", "message_id", "subject", "sent_at", "line")
    return {k: evidence.get(k) for k in keys}


def _facts_from_mail(*, message: Message, entry: Entry, actor: Actor) -> None:
    sender = message.from_[1]
    rules: list[CaptureSettings] = []  # read once, and only when a signature has facts

    def learn(address: str, text: str, name: str, *, own: bool) -> None:
        contact = _only_contact(address)
        if contact is None or not permissions.can_see_record(actor.user, "contact", contact):
            # Mail learns only about contacts the one who brought it in may see: a forged
            # From: must not write into another team's records (decision 0012).
            return
        sig = signature.read(
            text,
            known_name=name or contact.full_name,
            known_email=address,
            region=_region_of(contact),
        )
        if sig is None or sig.fields is None:
            return
        for fact in facts_of(sig.fields):
            if not rules:
                rules.append(capture_settings_get())
            evidence = _evidence(message, entry, fact.line, sig.lines)
            if not own:
                evidence["forwarded_by"] = sender
            _propose_fact(contact=contact, fact=fact, own=own, conf=rules[0],
                          evidence=evidence, entry=entry, delivered_by=actor)  # fmt: skip

    if entry.direction == Direction.INBOUND:
        learn(sender, message.new_text, message.from_[0], own=True)
    # A message forwarded inside this one: its signature speaks for its own author.
    for forwarded in signature.split_forwarded(message.new_text).forwarded:
        if forwarded.email and forwarded.email != sender:
            learn(forwarded.email, forwarded.text, forwarded.name, own=False)


def _resight(proposal: Proposal, evidence: dict[str, Any]) -> Proposal:
    seen = list(proposal.evidence.get("seen") or [])
    if any(s.get("message_id") == evidence.get("message_id") for s in seen):
        return proposal  # the same message again: no new evidence
    seen.append(_sighting(evidence))
    proposal.evidence = {**proposal.evidence, "seen": seen[-MAX_SEEN:]}
    proposal.sightings += 1
    proposal.save(update_fields=["evidence", "sightings", "updated_at"])
    return proposal


def _open(kind: str, key: str) -> Proposal | None:
    return (
        Proposal.objects.select_for_update()
        .filter(kind=kind, key=key, state=Proposal.State.PENDING)
        .first()
    )


def _create_or_resight(
    *, kind: str, key: str, evidence: dict[str, Any], **fields: Any
) -> tuple[Proposal, bool]:
    """The open proposal for ``key`` with one more sighting, or a new one (True)."""
    found = _open(kind, key)
    if found is not None:
        return _resight(found, evidence), False
    try:
        with transaction.atomic():
            created = Proposal.objects.create(
                kind=kind, key=key, evidence={**evidence, "seen": [_sighting(evidence)]}, **fields
            )
        return created, True
    except IntegrityError:
        # Another delivery opened it a moment ago: this one is a sighting of it.
        found = _open(kind, key)
        if found is None:
            raise
        return _resight(found, evidence), False


def _propose_fact(
    *,
    contact: Contact,
    fact: Fact,
    own: bool,
    conf: CaptureSettings,
    evidence: dict[str, Any],
    entry: Entry,
    delivered_by: Actor,
) -> Proposal | None:
    """The rule's decision for one fact: nothing, a proposal to review, or applied now."""
    action = rule_for(conf, fact.field)
    if action == FactAction.IGNORE:
        return None
    if fact_present(contact, fact.field, fact.value):
        return None
    key = f"{contact.pk}:{fact.field}:{fact.norm}"[:255]
    # Every earlier decision about exactly this suggestion, in one query.
    states = set(
        Proposal.objects.filter(kind=Proposal.Kind.FACT, key=key)
        .order_by()
        .values_list("state", flat=True)
        .distinct()
    )
    if Proposal.State.REJECTED in states:
        return None  # the steward said no to exactly this
    applied_before = bool(states & {Proposal.State.APPLIED, Proposal.State.ACCEPTED})
    if not own and action == FactAction.AUTO:
        action = FactAction.REVIEW
        rule = f"review: {fact.field} read in someone else's message"
    elif applied_before and action == FactAction.AUTO:
        # Applied once and removed from the record since: a person did that on purpose;
        # an old signature must not bring it back by itself.
        action = FactAction.REVIEW
        rule = f"review: {fact.field} was applied before and removed since"
    elif action == FactAction.AUTO:
        rule = f"auto: {fact.field} from the contact's own message (rules v{conf.version})"
    else:
        rule = f"review: {fact.field} (rules v{conf.version})"
    with transaction.atomic():
        proposal, created = _create_or_resight(
            kind=Proposal.Kind.FACT,
            key=key,
            evidence=evidence,
            field=fact.field,
            contact=contact,
            value=fact.value,
            entry=entry,
            rule=rule,
        )
        if created and fact.field in (FactField.TITLE, FactField.COMPANY):
            # A newer title supersedes an older one still waiting.
            Proposal.objects.filter(
                kind=Proposal.Kind.FACT, contact=contact, field=fact.field,
                state=Proposal.State.PENDING,
            ).exclude(pk=proposal.pk).update(
                state=Proposal.State.OBSOLETE, decided_at=timezone.now()
            )  # fmt: skip
        if created and action == FactAction.AUTO:
            # Applied by the rule, in the name of whoever brought the message in: the audit
            # trail names them, and their rights bound what the rule may write.
            applying = Actor(
                user=delivered_by.user,
                via=Via.AUTOMATION,
                context={
                    **_provenance(proposal),
                    "brought_by": delivered_by.name,
                    "brought_via": delivered_by.via,
                    **{k: v for k, v in delivered_by.context.items() if k in ("path", "mailbox")},
                },
            )
            try:
                with transaction.atomic():
                    done = _apply_fact(actor=applying, proposal=proposal, value=proposal.value)
            except (PermissionDenied, NotFound):
                # The bringer's rights bound the rule: the steward decides instead.
                name = delivered_by.name[:40]
                proposal.rule = f"review: {fact.field}, {name} may not change the record"[:100]
                proposal.save(update_fields=["rule", "updated_at"])
            except ValidationFailed as exc:
                reason = f"{rule}; could not be applied ({exc.message}), sent to review"
                proposal.rule = reason[:100]  # the column's length: PostgreSQL refuses more
                proposal.save(update_fields=["rule", "updated_at"])
            else:
                proposal.state = Proposal.State.APPLIED
                proposal.decided_at = timezone.now()
                proposal.result = done
                proposal.save(update_fields=["state", "decided_at", "result", "updated_at"])
    return proposal


def _provenance(proposal: Proposal) -> dict[str, Any]:
    ev = proposal.evidence or {}
    return {
        "proposal": proposal.pk,
        "entry": proposal.entry_id,
        "message_id": ev.get("message_id", ""),
        "line": ev.get("line", ""),
        "source": "mail signature" if proposal.kind == Proposal.Kind.FACT else "mail sender",
    }


# --- applying a fact -------------------------------------------------------------------------


class _Present(Exception):
    """The record says this already."""


def _apply_fact(*, actor: Actor, proposal: Proposal, value: dict[str, Any]) -> dict[str, Any]:
    """Write one fact through the customer services; the result names what was written."""
    contact = proposal.contact
    if contact is None:
        raise NotFound("The contact of this proposal no longer exists.")
    contact = Contact.objects.get(pk=contact.pk)
    field = proposal.field
    if fact_present(contact, field, value):
        raise _Present
    if field in (FactField.PHONE, FactField.MOBILE):
        kind = "mobile" if field == FactField.MOBILE else str(value.get("kind") or "work")
        data = {"number": str(value.get("number") or ""), "kind": kind if kind in
                ("work", "home", "mobile", "fax", "other") else "other",
                "is_primary": False, "source": SOURCE}  # fmt: skip
        phone = customer_services.part_add(actor=actor, parent=contact, part="phones", data=data)
        return {"contact": contact.pk, "phone": phone.pk, "e164": phone.e164}
    if field == FactField.TITLE:
        updated = customer_services.contact_update(
            actor=actor, contact=contact, data={"job_title": str(value.get("title") or "")}
        )
        return {"contact": contact.pk, "job_title": updated.job_title}
    if field == FactField.COMPANY:
        return _apply_company(actor=actor, contact=contact, value=value)
    if field == FactField.ADDRESS:
        data = {
            k: str(value.get(k) or "")
            for k in ("street", "postal_code", "city", "region", "country")
        }
        address = customer_services.part_add(
            actor=actor, parent=contact, part="addresses", data={**data, "source": SOURCE}
        )
        return {"contact": contact.pk, "address": address.pk}
    if field == FactField.WEBSITE:
        domain = str(value.get("domain") or _website_domain(str(value.get("url") or "")))
        if not domain:
            raise ValidationFailed(errors={"url": ["Not a web address of an organisation."]})
        account = _primary_account(contact)
        if account is None:
            raise ValidationFailed(
                errors={"url": ["The contact has no account to hold this web site."]}
            )
        row = customer_services.part_add(
            actor=actor, parent=account, part="domains", data={"domain": domain}
        )
        return {"contact": contact.pk, "account": account.pk, "domain": row.domain}
    raise ValidationFailed(errors={"field": [f"Unknown field {field!r}."]})


def _apply_company(*, actor: Actor, contact: Contact, value: dict[str, Any]) -> dict[str, Any]:
    """Make the contact a member of the company's account (created when none has its name);
    it becomes the primary account only if the contact had none."""
    name = str(value.get("company") or "").strip()
    account = None
    if value.get("account"):
        account = Account.objects.filter(pk=value["account"]).first()
    if account is None and name:
        key = normalize.normalize_org_name(name)
        account = (
            Account.objects.filter(normalized_name=key).order_by("pk").first() if key else None
        )
    created = False
    if account is None:
        if not name:
            raise ValidationFailed(errors={"company": ["Enter the company's name."]})
        account = customer_services.account_create(actor=actor, data={"name": name})
        created = True
    has_primary = contact.memberships.filter(is_primary=True).exists()
    membership = customer_services.part_add(
        actor=actor,
        parent=contact,
        part="memberships",
        data={"account": account.pk, "is_primary": not has_primary},
    )
    return {"contact": contact.pk, "account": account.pk, "membership": membership.pk,
            "account_created": created}  # fmt: skip


# --- unknown senders -------------------------------------------------------------------------


def is_machine_address(address: str) -> bool:
    """No-reply, bounce, list and role addresses: not a person to add."""
    local = address.lower().rpartition("@")[0].split("+", 1)[0]
    return bool(_MACHINE.match(local)) or is_role_address(address)


def account_for_address(address: str, *, actor: Actor | None = None) -> Account | None:
    """The account an unknown sender belongs to: ``customers.selectors.account_for_email``,
    the one rule, among the accounts the actor's user may see."""
    return account_for_email(actor=actor.user if actor is not None else None, email=address)


def _names(display: str, fields: Fields | None, address: str) -> dict[str, str]:
    if display and "@" not in display:
        parts = normalize.parse_full_name(display)
        if parts.get("given_name") or parts.get("family_name"):
            return {"given_name": parts["given_name"], "family_name": parts["family_name"]}
    if fields is not None and (fields.given_name or fields.family_name):
        return {"given_name": fields.given_name, "family_name": fields.family_name}
    local = address.partition("@")[0]
    words = [w for w in re.split(r"[._-]+", local) if w.isalpha()]
    if len(words) >= 2:
        return {"given_name": words[0].capitalize(), "family_name": words[-1].capitalize()}
    return {"given_name": "", "family_name": local}


def _keep_message(message: Message) -> dict[str, Any]:
    """The message as JSON, its attachments in storage, to store it on accept."""
    attachments = []
    for att in message.attachments:
        digest = hashlib.sha256(att.payload).hexdigest()[:32]
        name = default_storage.save(f"proposals/{digest}/{att.filename}", ContentFile(att.payload))
        attachments.append(
            {
                "filename": att.filename,
                "content_type": att.content_type,
                "size": att.size,
                "file": name,
            }  # fmt: skip
        )
    return {
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "references": message.references,
        "thread_id": message.thread_id,
        "subject": message.subject,
        "sent_at": message.sent_at.isoformat(),
        "from": list(message.from_),
        "to": [list(a) for a in message.to],
        "cc": [list(a) for a in message.cc],
        "text": message.text[:MAX_TEXT],
        "new_text": message.new_text[:MAX_TEXT],
        "attachments": attachments,
        "skipped": message.skipped,
    }


def _message_from(data: dict[str, Any]) -> Message:
    attachments = []
    for att in data.get("attachments") or []:
        try:
            with default_storage.open(att["file"], "rb") as f:
                payload = f.read()
        except OSError:
            continue  # lost from storage: the message still counts
        attachments.append(
            MailAttachment(att["filename"], att["content_type"], len(payload), payload)
        )
    return Message(
        message_id=data["message_id"],
        in_reply_to=data.get("in_reply_to", ""),
        references=list(data.get("references") or []),
        thread_id=data.get("thread_id") or data["message_id"],
        subject=data.get("subject", ""),
        sent_at=dt.datetime.fromisoformat(data["sent_at"]),
        from_=(data["from"][0], data["from"][1]),
        to=[(a[0], a[1]) for a in data.get("to") or []],
        cc=[(a[0], a[1]) for a in data.get("cc") or []],
        text=data.get("text", ""),
        new_text=data.get("new_text", ""),
        attachments=attachments,
        skipped=list(data.get("skipped") or []),
    )


def _kept_files(proposal: Proposal) -> list[str]:
    return [
        att["file"]
        for m in (proposal.evidence or {}).get("messages") or []
        for att in m.get("attachments") or []
        if att.get("file")
    ]


def _drop_files(names: list[str]) -> None:
    after_commit(_delete_stored, list(names))


def _delete_stored(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):  # already gone
            default_storage.delete(name)


def _unknown_sender(*, message: Message, result: StoreResult, actor: Actor) -> Proposal | None:
    display, address = result.sender or message.from_
    if not address or "@" not in address or is_machine_address(address):
        return None
    if ContactEmail.objects.filter(email=address).exists():
        # A contact has it (maybe one the bringer may not see: then the message stayed off
        # its timeline, and proposing it again as new would only make a duplicate). Asked
        # first: most stored messages come from a known contact, and this ends it at once.
        return None
    conf = capture_settings_get()
    if not conf.unknown_senders:
        return None
    if User.objects.filter(email__iexact=address).exists():
        return None  # staff writing to staff
    key = address.lower()[:255]
    if Proposal.objects.filter(
        kind=Proposal.Kind.NEW_CONTACT, key=key, state=Proposal.State.REJECTED
    ).exists():
        return None
    sig = signature.read(message.new_text, known_name=display, known_email=address)
    fields = sig.fields if sig is not None else None
    account = account_for_address(address, actor=actor)
    how = "domain" if account is not None else ""
    if account is None and fields is not None and fields.company:
        by_name = normalize.normalize_org_name(fields.company)
        account = (
            Account.objects.filter(normalized_name=by_name).order_by("pk").first()
            if by_name
            else None
        )
        how = "name" if account is not None else ""
    value: dict[str, Any] = {"email": address, **_names(display, fields, address)}
    if fields is not None:
        value["job_title"] = fields.title[:150]
        value["company"] = fields.company[:200]
        value["phones"] = [{"number": p.e164, "kind": p.kind} for p in fields.phones]
        if fields.address and (fields.address.get("street") or fields.address.get("city")):
            value["address"] = _address_value(fields.address)
        if fields.websites:
            value["website"] = fields.websites[0]
    value["account"] = account.pk if account is not None else None
    evidence = _evidence(message, None, fields.sources.get("name", "") if fields else "",
                         sig.lines if sig else [])  # fmt: skip
    evidence["account_how"] = how
    evidence["duplicates"] = _likely_existing(value, account)
    with transaction.atomic():
        proposal, created = _create_or_resight(
            kind=Proposal.Kind.NEW_CONTACT,
            key=key,
            evidence=evidence,
            value=value,
            account=account,
            rule="review: unknown sender",
        )
        messages = list(proposal.evidence.get("messages") or [])
        if len(messages) < MAX_MESSAGES and all(
            m.get("message_id") != message.message_id for m in messages
        ):
            messages.append(_keep_message(message))
            proposal.evidence = {**proposal.evidence, "messages": messages}
            if not created:
                proposal.evidence["duplicates"] = evidence["duplicates"]
            proposal.save(update_fields=["evidence", "updated_at"])
    return proposal


def _likely_existing(value: dict[str, Any], account: Account | None) -> list[dict[str, Any]]:
    """The duplicate check of a create, run now so the steward sees "this looks like X"."""
    matches = identity_selectors.likely_duplicates(
        actor=None,
        kind="contact",
        data={"given_name": value.get("given_name", ""), "family_name": value.get("family_name", "")},
        parts=ContactParts(emails=[{"email": value["email"]}], phones=list(value.get("phones") or [])),
        organisation=account.name if account is not None else value.get("company", ""),
        limit=3,
    )
    return [
        {"id": m.record_id, "label": m.label, "detail": m.detail, "percent": m.percent}
        for m in matches
    ]


# --- decisions -------------------------------------------------------------------------------


def require_decider(user: Any) -> None:
    permissions.require(user, "change", RecordKind.PROPOSAL)


def _lock(proposal: Proposal, expected_version: int | None) -> Proposal:
    locked = Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
    if locked is None:
        raise NotFound("No such proposal.")
    if expected_version is not None and locked.version != expected_version:
        raise VersionConflict(
            f"This proposal was changed by someone else (now version {locked.version}, you had "
            f"{expected_version}). Reload it and decide again.",
            current_version=locked.version,
        )
    if locked.state != Proposal.State.PENDING:
        raise Conflict(f"This proposal was already decided ({locked.get_state_display().lower()}).")
    return locked


def _clean_value(proposal: Proposal, edited: dict[str, Any] | None) -> dict[str, Any]:
    """The proposed value with the steward's edits (only keys the kind knows)."""
    value = dict(proposal.value or {})
    if not edited:
        return value
    allowed: dict[str, tuple[str, ...]] = {
        FactField.PHONE: ("number", "kind"),
        FactField.MOBILE: ("number",),
        FactField.TITLE: ("title",),
        FactField.COMPANY: ("company", "account"),
        FactField.ADDRESS: ("street", "postal_code", "city", "region", "country"),
        FactField.WEBSITE: ("url",),
    }
    keys: tuple[str, ...]
    if proposal.kind == Proposal.Kind.NEW_CONTACT:
        keys = ("given_name", "family_name", "job_title", "account", "phones", "address", "contact")
    else:
        keys = allowed.get(proposal.field, ())
    unknown = sorted(k for k in edited if k not in keys)
    if unknown:
        raise ValidationFailed(
            "The value has fields this proposal does not have.",
            errors={f"value.{k}": ["Unknown field."] for k in unknown},
        )
    value.update(edited)
    if proposal.field == FactField.WEBSITE and "url" in edited:
        value["domain"] = _website_domain(str(edited["url"] or ""))
    if proposal.field == FactField.COMPANY and "company" in edited and "account" not in edited:
        value.pop("account", None)
    return value


def _finish(
    *,
    actor: Actor,
    proposal: Proposal,
    state: str,
    value: dict[str, Any] | None,
    result: dict[str, Any],
) -> Proposal:
    before = {"state": proposal.state, "value": proposal.value}
    proposal.state = state
    if value is not None:
        proposal.value = value
    proposal.result = result
    proposal.decided_by = actor.user if getattr(actor.user, "pk", None) else None
    proposal.decided_at = timezone.now()
    proposal.version += 1
    proposal.save()
    after = {"state": proposal.state, "value": proposal.value}
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        entity_kind="proposal",
        entity_id=proposal.pk,
        obj=proposal,
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
    )
    return proposal


def proposal_accept(
    *,
    actor: Actor,
    proposal: Proposal,
    value: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Apply a proposal as proposed or with the steward's edits (``value``), through the
    customer services, with its provenance in the audit trail. A fact the record has by
    now makes it obsolete instead. Two stewards deciding at once: the second gets a
    Conflict (or VersionConflict with a stale version), never a second change."""
    require_decider(actor.user)
    with transaction.atomic():
        locked = _lock(proposal, expected_version)
        final = _clean_value(locked, value)
        applying = Actor(
            user=actor.user, via=actor.via, context={**actor.context, **_provenance(locked)}
        )
        if locked.kind == Proposal.Kind.NEW_CONTACT:
            state, result = _accept_new_contact(actor=applying, proposal=locked, value=final)
        else:
            try:
                with transaction.atomic():
                    result = _apply_fact(actor=applying, proposal=locked, value=final)
                state = Proposal.State.ACCEPTED
            except _Present:
                state, result = Proposal.State.OBSOLETE, {"reason": "The record has it already."}
        if final != locked.value:
            result["edited"] = True
            result["proposed"] = locked.value
        decided = _finish(actor=actor, proposal=locked, state=state, value=final, result=result)
    proposal.refresh_from_db()
    return decided


def _accept_new_contact(
    *, actor: Actor, proposal: Proposal, value: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    email = str(value.get("email") or proposal.key)
    state = Proposal.State.ACCEPTED
    chosen = value.get("contact")
    if chosen:
        # "This is X": the address joins the existing contact.
        contact = Contact.objects.filter(pk=chosen).first()
        if contact is None:
            raise ValidationFailed(errors={"value.contact": [f"No contact with id {chosen}."]})
        if not contact.emails.filter(email=email).exists():
            customer_services.part_add(
                actor=actor, parent=contact, part="emails",
                data={"email": email, "is_primary": False, "source": "mail"},
            )  # fmt: skip
        result: dict[str, Any] = {"contact": contact.pk, "existing": True}
    else:
        owner = (
            ContactEmail.objects.filter(email=email).values_list("contact_id", flat=True).first()
        )
        if owner is not None:
            # Someone added the sender meanwhile: the messages go to that contact.
            state, result = Proposal.State.OBSOLETE, {"contact": owner, "existing": True}
        else:
            contact = _create_contact(actor=actor, value=value, email=email)
            result = {"contact": contact.pk}
    entries = []
    for kept in (proposal.evidence or {}).get("messages") or []:
        stored = mail.store(_message_from(kept), actor=actor)
        if stored.entry is not None:
            entries.append(stored.entry.pk)
    result["entries"] = entries
    if entries:
        proposal.entry_id = entries[0]
    _drop_files(_kept_files(proposal))
    return state, result


def _create_contact(*, actor: Actor, value: dict[str, Any], email: str) -> Contact:
    data: dict[str, Any] = {
        "given_name": str(value.get("given_name") or ""),
        "family_name": str(value.get("family_name") or ""),
        "source": "mail",
    }
    if value.get("job_title"):
        data["job_title"] = str(value["job_title"])[:150]
    phones = []
    for p in value.get("phones") or []:
        number = p.get("number") if isinstance(p, dict) else p
        if number:
            kind = p.get("kind", "other") if isinstance(p, dict) else "other"
            phones.append({"number": str(number), "source": SOURCE,
                           "kind": kind if kind in ("work", "mobile", "fax", "home") else "other"})  # fmt: skip
    addresses = []
    address = value.get("address")
    if isinstance(address, dict) and (address.get("street") or address.get("city")):
        addresses.append({**{k: str(address.get(k) or "") for k in
                             ("street", "postal_code", "city", "region", "country")},
                          "source": SOURCE})  # fmt: skip
    memberships = []
    if value.get("account"):
        account = Account.objects.filter(pk=value["account"]).first()
        if account is None:
            raise ValidationFailed(
                errors={"value.account": [f"No account with id {value['account']}."]}
            )
        memberships.append({"account": account.pk, "is_primary": True})
    parts = customer_services.ContactParts(
        emails=[{"email": email, "source": "mail"}],
        phones=phones,
        addresses=addresses,
        memberships=memberships,
    )
    return customer_services.contact_create(actor=actor, data=data, parts=parts)


def proposal_reject(
    *, actor: Actor, proposal: Proposal, expected_version: int | None = None
) -> Proposal:
    """Say no: nothing changes on the record, and the same suggestion (the same value for
    the same contact, or the same unknown sender) is not proposed again."""
    require_decider(actor.user)
    with transaction.atomic():
        locked = _lock(proposal, expected_version)
        files = _kept_files(locked)
        if files:
            # The kept messages are not needed any more; their text goes with the files.
            locked.evidence = {
                **locked.evidence,
                "messages": [
                    {k: v for k, v in m.items() if k in ("message_id", "subject", "sent_at")}
                    for m in locked.evidence.get("messages") or []
                ],
            }
            _drop_files(files)
        decided = _finish(
            actor=actor, proposal=locked, state=Proposal.State.REJECTED, value=None, result={}
        )
    proposal.refresh_from_db()
    return decided
