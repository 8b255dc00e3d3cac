"""Writing consent: grants and withdrawals, double opt-in, the preference centre, one-click
unsubscribe, bounces and complaints, purposes.

Every change is one ``ConsentEvent`` (the history, append-only), the current state it
leads to (``ConsentState``), an audit entry and a timeline entry, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from rapport.audit.services import audit_record
from rapport.consent import events
from rapport.consent.delivery import UNSUBSCRIBE_SALT, department_of
from rapport.consent.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    OutboundMessage,
    Purpose,
    Source,
    Status,
    Suppression,
)
from rapport.consent.sending import CONFIRMATION_KIND, OutboundEmail, send_queue
from rapport.consent.suppression import normalised, suppression_add
from rapport.core.actor import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.customers.models import Contact, ContactEmail, ContactPhone
from rapport.users import permissions
from rapport.users.models import RecordKind

CONFIRM_SALT = "rapport.consent.confirm"
PREFERENCES_SALT = "rapport.consent.preferences"
CONFIRM_MAX_AGE = 7 * 24 * 3600
PREFERENCES_MAX_AGE = 90 * 24 * 3600
EMAIL_CHANNELS = (Channel.EMAIL,)
PHONE_CHANNELS = (Channel.PHONE, Channel.SMS, Channel.MESSAGING)


def _public_url(path: str) -> str:
    base = getattr(settings, "RAPPORT_PUBLIC_URL", "").rstrip("/") or "http://localhost:8000"
    return base + path


def purpose_get(key: str | Purpose) -> Purpose:
    if isinstance(key, Purpose):
        return key
    found = Purpose.objects.filter(key=key).first()
    if found is None:
        raise ValidationFailed("Unknown purpose.", errors={"purpose": [f"No purpose {key!r}."]})
    return found


def _clean(
    *,
    contact: Contact,
    channel: str,
    status: str,
    source: str,
    address: str,
    lawful_basis: str | None,
    purpose: Purpose,
    effective_at: dt.datetime | None,
    expires_at: dt.datetime | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [f"One of {', '.join(Channel.values)}."]
    if status not in (Status.GRANTED, Status.WITHDRAWN):
        errors["status"] = ["granted or withdrawn."]
    if source not in Source.values:
        errors["source"] = [f"One of {', '.join(Source.values)}."]
    basis = lawful_basis or purpose.lawful_basis
    if basis not in LawfulBasis.values:
        errors["lawful_basis"] = [f"One of {', '.join(LawfulBasis.values)}."]
    now = timezone.now()
    when = effective_at or now
    # A consent given earlier (on paper, at an event) may be recorded now; one in the
    # future is not a consent yet.
    if when > now + dt.timedelta(minutes=5):
        errors["effective_at"] = ["A consent cannot take effect in the future."]
    if expires_at is not None and expires_at <= when:
        errors["expires_at"] = ["The expiry must come after the consent takes effect."]
    email = phone = None
    norm = ""
    if address:
        norm = normalised(channel, address)
        if channel in EMAIL_CHANNELS:
            email = ContactEmail.objects.filter(contact=contact, email=norm).first()
            if email is None:
                errors["address"] = ["Not one of this contact's e-mail addresses."]
        elif channel in PHONE_CHANNELS:
            phone = ContactPhone.objects.filter(contact=contact, e164=norm).first()
            if phone is None:
                errors["address"] = ["Not one of this contact's phone numbers."]
        else:
            errors["address"] = ["Post consent is for the contact, not one address."]
    if errors:
        raise ValidationFailed("The consent cannot be recorded.", errors=errors)
    return {"when": when, "basis": basis, "address": norm, "email": email, "phone": phone}


def _expired(state: ConsentState | None) -> bool:
    return bool(state and state.expires_at and state.expires_at <= timezone.now())


def consent_record(
    *,
    actor: Actor,
    contact: Contact,
    channel: str,
    purpose: Purpose | str,
    status: str,
    source: str,
    address: str = "",
    lawful_basis: str | None = None,
    evidence_text: str = "",
    evidence_version: str = "",
    effective_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    note: str = "",
    confirmed: bool = False,
) -> ConsentEvent:
    """Record a grant or a withdrawal. An e-mail grant for a purpose that requires double
    opt-in is *pending* (no consent yet) and a confirmation link is sent through the gate,
    unless it confirms (``source`` confirmation) or the person confirmed before
    (``confirmed``, with the evidence). An event older than the current state goes into
    the history without changing the state."""
    if not permissions.is_system(actor.user):
        permissions.require_record(actor.user, "view", RecordKind.CONTACT, contact)
        permissions.require(actor.user, "add", RecordKind.CONSENT)
    found = purpose_get(purpose)
    cleaned = _clean(
        contact=contact, channel=channel, status=status, source=source, address=address,
        lawful_basis=lawful_basis, purpose=found, effective_at=effective_at, expires_at=expires_at,
    )  # fmt: skip
    with transaction.atomic():
        key = {
            "contact": contact,
            "channel": channel,
            "purpose": found,
            "address": cleaned["address"],
        }
        current = ConsentState.objects.select_for_update().filter(**key).first()
        final = status
        if (
            status == Status.GRANTED
            and channel == Channel.EMAIL
            and found.double_opt_in
            and source != Source.CONFIRMATION
            and not confirmed
            and not (current and current.status == Status.GRANTED and not _expired(current))
        ):
            final = Status.PENDING
        event = ConsentEvent.objects.create(
            contact=contact,
            email=cleaned["email"],
            phone=cleaned["phone"],
            address=cleaned["address"],
            channel=channel,
            purpose=found,
            lawful_basis=cleaned["basis"],
            status=final,
            source=source,
            evidence_text=evidence_text,
            evidence_version=evidence_version[:50],
            note=note[:300],
            effective_at=cleaned["when"],
            expires_at=expires_at,
            recorded_by=actor.user if getattr(actor.user, "pk", None) else None,
            via=actor.via,
        )
        old = current.status if current else "never_asked"
        if current is None or event.effective_at >= current.effective_at:
            values = {
                "status": final, "lawful_basis": event.lawful_basis, "event": event,
                "effective_at": event.effective_at, "expires_at": expires_at,
            }  # fmt: skip
            if current is None:
                ConsentState.objects.create(**key, **values)
            else:
                ConsentState.objects.filter(pk=current.pk).update(**values)
        audit_record(
            actor=actor,
            action="create",
            entity_kind="contact",
            entity_id=contact.pk,
            object_kind="consent",
            object_id=event.pk,
            changes={
                f"consent.{channel}.{found.key}{'.' + event.address if event.address else ''}": [
                    old,
                    final,
                ]
            },
        )
        events.consent_changed(actor=actor, event=event, purpose_label=found.label)
        if final == Status.PENDING:
            _confirmation_queue(actor=actor, contact=contact, event=event, purpose=found)
    return event


def confirm_token(event: ConsentEvent) -> str:
    return signing.dumps({"e": event.pk}, salt=CONFIRM_SALT, compress=True)


def _confirmation_queue(
    *, actor: Actor, contact: Contact, event: ConsentEvent, purpose: Purpose
) -> None:
    to = event.address or (
        ContactEmail.objects.filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("email", flat=True)
        .first()
    )
    if not to:
        raise ValidationFailed(
            "A double opt-in needs an e-mail address.",
            errors={"address": ["The contact has no e-mail address."]},
        )
    link = _public_url(reverse("consent:confirm", args=[confirm_token(event)]))
    send_queue(
        actor=actor,
        message=OutboundEmail(
            contact_id=contact.pk,
            to_address=to,
            purpose=purpose.key,
            subject=f"Please confirm: {purpose.label}",
            text=(
                f"You asked to receive {purpose.label.lower()} by e-mail.\n\n"
                f"Confirm it by opening this link (valid for 7 days):\n{link}\n\n"
                "If you did not ask for it, ignore this message: nothing will be sent."
            ),
            related_kind=CONFIRMATION_KIND,
            related_id=event.pk,
        ),
    )


def consent_confirm_check(*, token: str) -> ConsentEvent:
    """The pending grant a confirmation link names (NotFound for a bad or expired link)."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise NotFound("This confirmation link has expired.") from None
    except signing.BadSignature:
        raise NotFound("This confirmation link is not valid.") from None
    pending = (
        ConsentEvent.objects.select_related("purpose", "contact").filter(pk=data.get("e")).first()
    )
    if pending is None:
        raise NotFound("This confirmation link is not valid.")
    return pending


def consent_confirm(*, token: str) -> ConsentEvent:
    """The person confirmed: the pending grant becomes a grant, with the evidence of the
    request it confirms. A link for a grant no longer pending (it was confirmed, or
    withdrawn since) changes nothing."""
    pending = consent_confirm_check(token=token)
    state = ConsentState.objects.filter(
        contact_id=pending.contact_id, channel=pending.channel, purpose_id=pending.purpose_id,
        address=pending.address,
    ).first()  # fmt: skip
    if state is None or state.status != Status.PENDING or state.event_id != pending.pk:
        return pending
    return consent_record(
        actor=Actor(user=None, via="web", context={"confirmation": pending.pk}),
        contact=pending.contact,
        channel=pending.channel,
        purpose=pending.purpose,
        status=Status.GRANTED,
        source=Source.CONFIRMATION,
        address=pending.address,
        lawful_basis=pending.lawful_basis,
        evidence_text=pending.evidence_text,
        evidence_version=pending.evidence_version,
        expires_at=pending.expires_at,
        note=f"Confirms the request of {pending.recorded_at:%Y-%m-%d %H:%M} UTC",
    )


# --- One-click unsubscribe and the preference centre ------------------------------------


def unsubscribe_message(token: str) -> OutboundMessage:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise NotFound("This unsubscribe link is not valid.") from None
    message = OutboundMessage.objects.select_related("purpose").filter(pk=data.get("m")).first()
    if message is None:
        raise NotFound("This unsubscribe link is not valid.")
    return message


def consent_unsubscribe(*, token: str) -> OutboundMessage:
    """RFC 8058 one-click unsubscribe: withdraw the message's purpose by e-mail for its
    contact, at once. Twice is the same as once."""
    message = unsubscribe_message(token)
    contact = Contact.objects.filter(pk=message.contact_id).first() if message.contact_id else None
    if contact is None:
        return message
    current = ConsentState.objects.filter(
        contact=contact, channel=Channel.EMAIL, purpose=message.purpose, address=""
    ).first()
    if current is None or current.status != Status.WITHDRAWN:
        consent_record(
            actor=Actor(user=None, via="web", context={"unsubscribe": message.pk}),
            contact=contact,
            channel=Channel.EMAIL,
            purpose=message.purpose,
            status=Status.WITHDRAWN,
            source=Source.UNSUBSCRIBE,
            evidence_text=f"One-click unsubscribe from “{message.subject}” sent to {message.to_address}",
        )
    return message


def preferences_token(contact: Contact) -> str:
    return signing.dumps({"c": contact.pk}, salt=PREFERENCES_SALT, compress=True)


def preferences_url(contact: Contact) -> str:
    return _public_url(reverse("consent:preferences", args=[preferences_token(contact)]))


def preferences_contact(token: str) -> Contact:
    try:
        data = signing.loads(token, salt=PREFERENCES_SALT, max_age=PREFERENCES_MAX_AGE)
    except signing.SignatureExpired:
        raise NotFound("This link has expired; ask for a new one.") from None
    except signing.BadSignature:
        raise NotFound("This link is not valid.") from None
    contact = Contact.objects.filter(pk=data.get("c")).first()
    if contact is None:
        raise NotFound("This link is not valid.")
    return contact


PREFERENCES_TEXT = "Your choices on the preference centre"
PREFERENCES_VERSION = "preference-centre-1"


def preferences_apply(*, token: str, choices: dict[tuple[str, str], str]) -> list[ConsentEvent]:
    """The person's choices on the preference centre, ``{(channel, purpose key): status}``;
    only the cells that change are recorded."""
    contact = preferences_contact(token)
    purposes = {p.key: p for p in Purpose.objects.filter(active=True)}
    current = {
        (s.channel, s.purpose_id): s.status
        for s in ConsentState.objects.filter(contact=contact, address="")
    }
    recorded = []
    actor = Actor(user=None, via="web", context={"preference_centre": contact.pk})
    for (channel, key), status in sorted(choices.items()):
        purpose = purposes.get(key)
        if (
            purpose is None
            or channel not in Channel.values
            or status not in (Status.GRANTED, Status.WITHDRAWN)
        ):
            continue
        have = current.get((channel, purpose.pk))
        if have == status or (status == Status.GRANTED and have == Status.PENDING):
            continue
        recorded.append(
            consent_record(
                actor=actor,
                contact=contact,
                channel=channel,
                purpose=purpose,
                status=status,
                source=Source.PREFERENCE_CENTRE,
                evidence_text=PREFERENCES_TEXT,
                evidence_version=PREFERENCES_VERSION,
            )  # fmt: skip
        )
    return recorded


# --- Bounces and complaints -----------------------------------------------------------


def address_bounced(*, address: str, kind: str, message_id: str = "") -> Suppression:
    """A hard bounce or a spam complaint reported by the mail provider: the address goes on
    the suppression list (nothing is sent to it again) and the message is marked; a
    complaint also withdraws the message's purpose."""
    reason = Suppression.Reason.COMPLAINT if kind == "complaint" else Suppression.Reason.BOUNCE
    with transaction.atomic():
        row = suppression_add(channel=Channel.EMAIL, address=address, reason=reason)
        message = None
        if message_id:
            message = (
                OutboundMessage.objects.select_for_update()
                .select_related("purpose")
                .filter(provider_message_id=message_id)
                .first()
                or OutboundMessage.objects.select_for_update()
                .select_related("purpose")
                .filter(message_id=message_id)
                .first()
            )
        if message is not None and message.status == OutboundMessage.Status.SENT:
            message.status = OutboundMessage.Status.BOUNCED
            message.reason = f"The provider reported a {reason}."
            message.save(update_fields=["status", "reason", "updated_at"])
            events.message_logged(message=message, department=department_of(message))
        if reason == Suppression.Reason.COMPLAINT and message is not None and message.contact_id:
            contact = Contact.objects.filter(pk=message.contact_id).first()
            if contact is not None:
                consent_record(
                    actor=Actor(user=None, via="api", context={"complaint": message.pk}),
                    contact=contact, channel=Channel.EMAIL, purpose=message.purpose,
                    status=Status.WITHDRAWN, source=Source.BOUNCE,
                    evidence_text="Spam complaint reported by the mail provider",
                )  # fmt: skip
    return row


# --- Purposes -------------------------------------------------------------------------

PURPOSE_FIELDS = ("label", "description", "lawful_basis", "double_opt_in", "is_marketing", "active")


def _purpose_clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if creating:
        key = str(data.get("key", "")).strip().lower()
        if not key or not key.replace("_", "").isalnum() or len(key) > 50:
            errors["key"] = ["Letters, digits and underscores, up to 50."]
        elif Purpose.objects.filter(key=key).exists():
            errors["key"] = ["A purpose with this key exists."]
        cleaned["key"] = key
    for name in PURPOSE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in ("double_opt_in", "is_marketing", "active"):
            cleaned[name] = bool(value)
        elif name == "lawful_basis":
            if value not in LawfulBasis.values:
                errors[name] = [f"One of {', '.join(LawfulBasis.values)}."]
            cleaned[name] = value
        else:
            text = str(value or "").strip()
            if name == "label" and not (0 < len(text) <= 100):
                errors[name] = ["A label of 1 to 100 characters."]
            cleaned[name] = text
    if creating and "label" not in cleaned:
        errors["label"] = ["A label of 1 to 100 characters."]
    if errors:
        raise ValidationFailed("The purpose cannot be saved.", errors=errors)
    return cleaned


def purpose_create(*, actor: Actor, data: dict[str, Any]) -> Purpose:
    permissions.require(actor.user, "change", RecordKind.CONSENT)
    cleaned = _purpose_clean(data, creating=True)
    with transaction.atomic():
        purpose = Purpose.objects.create(**cleaned)
        audit_record(
            actor=actor, action="create", entity_kind="purpose", entity_id=purpose.pk, obj=purpose,
            changes={k: [None, v] for k, v in cleaned.items()},
        )  # fmt: skip
    return purpose


def purpose_update(*, actor: Actor, purpose: Purpose, data: dict[str, Any]) -> Purpose:
    permissions.require(actor.user, "change", RecordKind.CONSENT)
    cleaned = _purpose_clean(data, creating=False)
    with transaction.atomic():
        locked = Purpose.objects.select_for_update().get(pk=purpose.pk)
        changes = {
            k: [getattr(locked, k), v] for k, v in cleaned.items() if getattr(locked, k) != v
        }
        for name, (_, value) in changes.items():
            setattr(locked, name, value)
        if changes:
            locked.save()
            audit_record(
                actor=actor, action="update", entity_kind="purpose", entity_id=locked.pk,
                obj=locked, changes=changes,
            )  # fmt: skip
    return locked
