"""Marketing writes: segments, campaigns and their variants, sending through the consent
gate, what recipients did (opens, clicks, replies), the winner, events and the people met
there.

Every send goes through ``rapport.consent.sending`` (decision 0016): the campaign stores
one batch of messages and the gate checks each recipient's consent at the moment it
sends; a withdrawal committed meanwhile skips that person, and the campaign counts them.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from rapport.audit.services import audit_record
from rapport.consent.models import OutboundMessage, Purpose
from rapport.core.actor import Actor, Via
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.touchpoints import touchpoint_reached
from rapport.core.transactions import enqueue_after_commit
from rapport.customers.models import AccountMembership, Contact, ContactEmail
from rapport.marketing import events, rules
from rapport.marketing.models import (
    Campaign,
    CampaignRecipient,
    CampaignVariant,
    Event,
    EventContact,
    Segment,
    SegmentMember,
)
from rapport.timeline.models import Department
from rapport.users import permissions
from rapport.users.models import RecordKind

KIND = RecordKind.CAMPAIGN
OPEN_SALT = "rapport.marketing.open"
CLICK_SALT = "rapport.marketing.click"
LINK_RE = re.compile(r"https?://[^\s<>\"'()\[\]]+[^\s<>\"'()\[\].,;:!?]")
MAX_VARIANTS = 6
CHUNK = 2000


def _user(actor: Actor) -> Any:
    return actor.user if getattr(actor.user, "pk", None) else None


def _text(
    data: dict[str, Any], name: str, errors: dict[str, list[str]], *, required: bool, limit: int
) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = ["Enter text."]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = ["This field is required."]
    elif len(value) > limit:
        errors[name] = [f"At most {limit} characters."]
    return value


# --- Segments -------------------------------------------------------------------------


def _clean_segment(
    *, actor: Actor, data: dict[str, Any], segment: Segment | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if segment is None or "name" in data:
        out["name"] = _text(data, "name", errors, required=True, limit=200)
    if "description" in data:
        out["description"] = _text(data, "description", errors, required=False, limit=2000)
    if segment is None or "kind" in data:
        kind = data.get("kind") or Segment.Kind.DYNAMIC
        if kind not in Segment.Kind.values:
            errors["kind"] = [f"dynamic or static, not {kind!r}."]
        elif segment is not None and segment.kind == Segment.Kind.STATIC and kind != segment.kind:
            errors["kind"] = ["A frozen segment stays static; make a new dynamic one."]
        out["kind"] = kind
    if segment is None or "rules" in data:
        if segment is not None and segment.frozen_at:
            errors["rules"] = ["The segment is frozen: its members no longer follow rules."]
        else:
            try:
                out["rules"] = rules.validate(user=actor.user, rules=data.get("rules"))
            except ValidationFailed as exc:
                errors.update(exc.errors)
    if errors:
        raise ValidationFailed("The segment cannot be saved.", errors=errors)
    return out


def segment_create(*, actor: Actor, data: dict[str, Any]) -> Segment:
    """A new segment; a static one is frozen at once (its members are the rules' now)."""
    permissions.require(actor.user, "add", KIND)
    cleaned = _clean_segment(actor=actor, data=data, segment=None)
    with transaction.atomic():
        segment = Segment.objects.create(owner=_user(actor), **cleaned)
        audit_record(
            actor=actor, action="create", entity_kind="segment", entity_id=segment.pk, obj=segment
        )
        if segment.kind == Segment.Kind.STATIC:
            _freeze(actor=actor, segment=segment)
    return segment


def segment_update(*, actor: Actor, segment: Segment, data: dict[str, Any]) -> Segment:
    permissions.require_record(actor.user, "change", KIND, segment)
    cleaned = _clean_segment(actor=actor, data=data, segment=segment)
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        changes = {
            k: [getattr(locked, k), v] for k, v in cleaned.items() if getattr(locked, k) != v
        }
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.save()
        if changes:
            audit_record(
                actor=actor,
                action="change",
                entity_kind="segment",
                entity_id=locked.pk,
                obj=locked,
                changes=changes,
            )
        if locked.kind == Segment.Kind.STATIC and not locked.frozen_at:
            _freeze(actor=actor, segment=locked)
    return locked


def segment_delete(*, actor: Actor, segment: Segment) -> None:
    permissions.require_record(actor.user, "delete", KIND, segment)
    if segment.campaigns.exists():
        raise ValidationFailed(
            "The segment cannot be deleted.",
            errors={"segment": ["Campaigns use it; their audience would be lost."]},
        )
    with transaction.atomic():
        audit_record(
            actor=actor, action="delete", entity_kind="segment", entity_id=segment.pk, obj=segment
        )
        segment.delete()


def _freeze(*, actor: Actor, segment: Segment) -> int:
    ids = rules.contacts_matching(user=actor.user, rules=segment.rules).values_list("pk", flat=True)
    count = 0
    batch: list[SegmentMember] = []
    for pk in ids.iterator(chunk_size=CHUNK):
        batch.append(SegmentMember(segment=segment, contact_id=pk))
        if len(batch) >= CHUNK:
            SegmentMember.objects.bulk_create(batch, ignore_conflicts=True)
            count += len(batch)
            batch = []
    SegmentMember.objects.bulk_create(batch, ignore_conflicts=True)
    count += len(batch)
    now = timezone.now()
    Segment.objects.filter(pk=segment.pk).update(
        kind=Segment.Kind.STATIC, frozen_at=now, last_count=count, counted_at=now
    )
    segment.kind, segment.frozen_at, segment.last_count, segment.counted_at = (
        Segment.Kind.STATIC, now, count, now,
    )  # fmt: skip
    return count


def segment_freeze(*, actor: Actor, segment: Segment) -> Segment:
    """Freeze a dynamic segment's current members into a static list (the rules stay, for
    the record, but no longer change who is in it)."""
    permissions.require_record(actor.user, "change", KIND, segment)
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        if locked.frozen_at:
            return locked
        count = _freeze(actor=actor, segment=locked)
        audit_record(
            actor=actor, action="change", entity_kind="segment", entity_id=locked.pk, obj=locked,
            changes={"kind": [Segment.Kind.DYNAMIC, Segment.Kind.STATIC], "members": [None, count]},
        )  # fmt: skip
    return locked


def segment_counted(*, segment: Segment, count: int) -> None:
    """Remember the count just shown (the list page shows it with its time)."""
    Segment.objects.filter(pk=segment.pk).update(last_count=count, counted_at=timezone.now())


# --- Campaigns ------------------------------------------------------------------------


def _money(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> Decimal:
    raw = data.get(name, "0")
    try:
        value = Decimal(str(raw if raw not in (None, "") else "0"))
    except InvalidOperation:
        errors[name] = [f"A number, not {raw!r}."]
        return Decimal("0")
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        errors[name] = ["Zero or more, below a trillion."]
        return Decimal("0")
    return value.quantize(Decimal("0.01"))


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, str) and value.strip():
        parsed = dt.datetime.fromisoformat(value.strip())
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return None


CAMPAIGN_FIELDS = (
    "name",
    "goal",
    "segment",
    "purpose",
    "scheduled_at",
    "budget",
    "cost",
    "attribution_days",
)


def _clean_campaign(
    *, actor: Actor, data: dict[str, Any], campaign: Campaign | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    unknown = set(data) - {*CAMPAIGN_FIELDS, "channel", "currency", "seed"}
    if unknown:
        errors["fields"] = [f"Unknown: {', '.join(sorted(unknown))}."]
    if campaign is not None and campaign.status not in (
        Campaign.Status.DRAFT,
        Campaign.Status.SCHEDULED,
    ):
        changing = set(data) - {"goal", "cost"}
        if changing:
            errors["status"] = [
                f"A campaign {campaign.status} keeps its {', '.join(sorted(changing))}; only goal and cost change."
            ]
    if campaign is None or "name" in data:
        out["name"] = _text(data, "name", errors, required=True, limit=200)
    if "goal" in data:
        out["goal"] = _text(data, "goal", errors, required=False, limit=2000)
    if "channel" in data and data["channel"] != Campaign.Channel.EMAIL:
        errors["channel"] = ["Only e-mail campaigns are sent for now."]
    if campaign is None or "segment" in data:
        seg_id = data.get("segment")
        segment = (
            Segment.objects.filter(pk=int(str(seg_id))).first()
            if (isinstance(seg_id, int) or str(seg_id or "").isdigit()) and len(str(seg_id)) < 19
            else None
        )
        if seg_id not in (None, "") and segment is None:
            errors["segment"] = [f"No segment {seg_id}."]
        out["segment"] = segment
    if campaign is None or "purpose" in data:
        key = data.get("purpose")
        purpose = (
            Purpose.objects.filter(key=key, active=True).first() if isinstance(key, str) else None
        )
        if purpose is None:
            errors["purpose"] = [f"No active consent purpose {key!r}."]
        out["purpose"] = purpose
    if "scheduled_at" in data:
        try:
            out["scheduled_at"] = _when(data["scheduled_at"])
        except ValueError:
            errors["scheduled_at"] = ["A date and time as YYYY-MM-DDTHH:MM."]
    for name in ("budget", "cost"):
        if name in data:
            out[name] = _money(data, name, errors)
    if "currency" in data:
        currency = str(data["currency"] or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            errors["currency"] = ["An ISO 4217 code such as EUR."]
        out["currency"] = currency
    if "attribution_days" in data:
        days = data["attribution_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            if not (isinstance(days, str) and days.isdigit() and 1 <= int(days) <= 365):
                errors["attribution_days"] = ["A whole number of days from 1 to 365."]
            else:
                out["attribution_days"] = int(days)
        else:
            out["attribution_days"] = days
    if "seed" in data:
        seed = data["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
            errors["seed"] = ["A whole number from 0."]
        out["seed"] = seed
    if errors:
        raise ValidationFailed("The campaign cannot be saved.", errors=errors)
    return out


def campaign_create(*, actor: Actor, data: dict[str, Any]) -> Campaign:
    """A draft campaign; variants are added to it, then it is scheduled or sent."""
    permissions.require(actor.user, "add", KIND)
    cleaned = _clean_campaign(actor=actor, data=data, campaign=None)
    cleaned.setdefault("seed", random.SystemRandom().randrange(2**31))
    with transaction.atomic():
        campaign = Campaign.objects.create(owner=_user(actor), **cleaned)
        audit_record(
            actor=actor,
            action="create",
            entity_kind="campaign",
            entity_id=campaign.pk,
            obj=campaign,
        )
    return campaign


def campaign_update(*, actor: Actor, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    permissions.require_record(actor.user, "change", KIND, campaign)
    cleaned = _clean_campaign(actor=actor, data=data, campaign=campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        changes = {
            k: [str(getattr(locked, k)), str(v)]
            for k, v in cleaned.items()
            if getattr(locked, k) != v
        }
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.save()
        if changes:
            audit_record(
                actor=actor,
                action="change",
                entity_kind="campaign",
                entity_id=locked.pk,
                obj=locked,
                changes=changes,
            )
    return locked


def campaign_delete(*, actor: Actor, campaign: Campaign) -> None:
    permissions.require_record(actor.user, "delete", KIND, campaign)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.CANCELLED):
        raise ValidationFailed(
            "The campaign cannot be deleted.",
            errors={"status": [f"It is {campaign.status}: its results are kept."]},
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="delete",
            entity_kind="campaign",
            entity_id=campaign.pk,
            obj=campaign,
        )
        campaign.delete()


def _editable(campaign: Campaign) -> None:
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise ValidationFailed(
            "The variants cannot change.",
            errors={"status": [f"The campaign is {campaign.status}."]},
        )


def _clean_variant(data: dict[str, Any], variant: CampaignVariant | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if variant is None or "label" in data:
        out["label"] = _text(data, "label", errors, required=True, limit=40)
    if variant is None or "subject" in data:
        out["subject"] = _text(data, "subject", errors, required=True, limit=300)
        if "\n" in out["subject"] or "\r" in out["subject"]:
            errors["subject"] = ["One line only."]
    if variant is None or "body" in data:
        out["body"] = _text(data, "body", errors, required=True, limit=50000)
    if "weight" in data:
        weight = data["weight"]
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
            errors["weight"] = ["A whole number from 1 to 100."]
        out["weight"] = weight
    if errors:
        raise ValidationFailed("The variant cannot be saved.", errors=errors)
    return out


def variant_create(*, actor: Actor, campaign: Campaign, data: dict[str, Any]) -> CampaignVariant:
    """A version of the message; the recipients are split among the variants by weight."""
    permissions.require_record(actor.user, "change", KIND, campaign)
    _editable(campaign)
    cleaned = _clean_variant(data, None)
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.variants.count() >= MAX_VARIANTS:
            raise ValidationFailed(
                "Too many variants.", errors={"label": [f"At most {MAX_VARIANTS}."]}
            )
        if campaign.variants.filter(label=cleaned["label"]).exists():
            raise ValidationFailed(
                "The variant cannot be saved.",
                errors={"label": ["Another variant has this label."]},
            )
        variant = CampaignVariant.objects.create(campaign=campaign, **cleaned)
        audit_record(
            actor=actor, action="create", entity_kind="campaign", entity_id=campaign.pk,
            object_kind="variant", object_id=variant.pk, changes={"variant": [None, variant.label]},
        )  # fmt: skip
    return variant


def variant_update(
    *, actor: Actor, variant: CampaignVariant, data: dict[str, Any]
) -> CampaignVariant:
    campaign = variant.campaign
    permissions.require_record(actor.user, "change", KIND, campaign)
    _editable(campaign)
    cleaned = _clean_variant(data, variant)
    with transaction.atomic():
        if (
            "label" in cleaned
            and campaign.variants.filter(label=cleaned["label"]).exclude(pk=variant.pk).exists()
        ):
            raise ValidationFailed(
                "The variant cannot be saved.",
                errors={"label": ["Another variant has this label."]},
            )
        changes = {
            k: [getattr(variant, k), v] for k, v in cleaned.items() if getattr(variant, k) != v
        }
        for name, value in cleaned.items():
            setattr(variant, name, value)
        variant.save()
        if changes:
            audit_record(
                actor=actor, action="change", entity_kind="campaign", entity_id=campaign.pk,
                object_kind="variant", object_id=variant.pk, changes=changes,
            )  # fmt: skip
    return variant


def variant_delete(*, actor: Actor, variant: CampaignVariant) -> None:
    campaign = variant.campaign
    permissions.require_record(actor.user, "change", KIND, campaign)
    _editable(campaign)
    with transaction.atomic():
        audit_record(
            actor=actor, action="delete", entity_kind="campaign", entity_id=campaign.pk,
            object_kind="variant", object_id=variant.pk, changes={"variant": [variant.label, None]},
        )  # fmt: skip
        variant.delete()


def campaign_schedule(
    *, actor: Actor, campaign: Campaign, at: dt.datetime | None = None
) -> Campaign:
    """Send the campaign at ``at`` (now when None or past): a background job splits the
    audience, queues one batch through the consent gate and follows its outcome."""
    from rapport.marketing.tasks import campaign_send_task

    permissions.require_record(actor.user, "change", KIND, campaign)
    errors: dict[str, list[str]] = {}
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        errors["status"] = [f"The campaign is {campaign.status}."]
    if campaign.segment_id is None:
        errors["segment"] = ["Choose the audience (a segment) first."]
    if not campaign.variants.exists():
        errors["variants"] = ["Write at least one message variant."]
    if errors:
        raise ValidationFailed("The campaign cannot be sent.", errors=errors)
    now = timezone.now()
    when = at if at and at > now else None
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        locked.status = Campaign.Status.SCHEDULED
        locked.scheduled_at = when or now
        locked.save(update_fields=["status", "scheduled_at", "updated_at"])
        audit_record(
            actor=actor, action="change", entity_kind="campaign", entity_id=locked.pk, obj=locked,
            changes={"status": [campaign.status, locked.status], "scheduled_at": [None, str(locked.scheduled_at)]},
        )  # fmt: skip
        if when is None:
            enqueue_after_commit(campaign_send_task, locked.pk)
    return locked


def campaign_cancel(*, actor: Actor, campaign: Campaign) -> Campaign:
    permissions.require_record(actor.user, "change", KIND, campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            raise ValidationFailed(
                "The campaign cannot be cancelled.", errors={"status": [f"It is {locked.status}."]}
            )
        old = locked.status
        locked.status = Campaign.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="change",
            entity_kind="campaign",
            entity_id=locked.pk,
            obj=locked,
            changes={"status": [old, locked.status]},
        )
    return locked


def campaigns_due(*, now: dt.datetime | None = None) -> list[int]:
    """Scheduled campaigns whose time has come (the scheduler's job queues each)."""
    return list(
        Campaign.objects.filter(
            status=Campaign.Status.SCHEDULED, scheduled_at__lte=now or timezone.now()
        )
        .order_by("scheduled_at", "id")
        .values_list("pk", flat=True)
    )


def campaigns_enqueue_due(*, now: dt.datetime | None = None) -> list[int]:
    """Queue the send of each scheduled campaign whose time has come (the worker's
    watchdog calls this every minute). Each is claimed by a conditional update
    (scheduled → sending), so two watchdogs never queue one campaign twice."""
    from rapport.marketing.tasks import campaign_send_task

    queued = []
    for pk in campaigns_due(now=now):
        if Campaign.objects.filter(pk=pk, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.SENDING
        ):
            campaign_send_task.enqueue(pk)
            queued.append(pk)
    return queued


# --- Sending --------------------------------------------------------------------------


def public_url(path: str) -> str:
    base = getattr(settings, "RAPPORT_PUBLIC_URL", "").rstrip("/") or "http://localhost:8000"
    return base + path


def open_token(recipient_id: int) -> str:
    return signing.Signer(salt=OPEN_SALT).sign(str(recipient_id))


def click_token(recipient_id: int, index: int) -> str:
    return signing.Signer(salt=CLICK_SALT).sign(f"{recipient_id}.{index}")


def links_of(body: str) -> list[str]:
    """The http(s) links of a body, each once, in order."""
    return list(dict.fromkeys(LINK_RE.findall(body)))


def assign_variants(
    *, seed: int, campaign_id: int, contact_ids: Iterable[int], variants: list[CampaignVariant]
) -> list[tuple[int, CampaignVariant, float]]:
    """Each contact's draw in [0, 1) from a generator seeded by the campaign, in contact
    order, and the variant whose share of the weights it falls in. The same seed and
    contacts give the same split; the draw is kept on the recipient row."""
    rng = random.Random(f"{seed}:{campaign_id}")
    total = sum(v.weight for v in variants)
    bounds: list[tuple[float, CampaignVariant]] = []
    acc = 0
    for variant in variants:
        acc += variant.weight
        bounds.append((acc / total, variant))
    out = []
    for pk in sorted(contact_ids):
        draw = rng.random()
        chosen = next((v for b, v in bounds if draw < b), bounds[-1][1])
        out.append((pk, chosen, draw))
    return out


def _addresses(contact_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for pk, email in (
        ContactEmail.objects.filter(contact_id__in=contact_ids)
        .order_by("contact_id", "-is_primary", "id")
        .values_list("contact_id", "email")
    ):
        found.setdefault(pk, email)
    return found


def _accounts(contact_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for pk, account in (
        AccountMembership.objects.filter(contact_id__in=contact_ids)
        .order_by("contact_id", "-is_primary", "id")
        .values_list("contact_id", "account_id")
    ):
        found.setdefault(pk, account)
    return found


def render_message(*, variant: CampaignVariant, recipient_id: int, footer: str) -> tuple[str, str]:
    """The text and HTML of one recipient's message: links through the signed redirect,
    the open pixel in the HTML part, and the footer (the preference centre's link)."""
    text = variant.body
    links = variant.links or links_of(variant.body)
    tracked = {
        url: public_url(reverse("marketing:click", args=[click_token(recipient_id, i)]))
        for i, url in enumerate(links)
    }

    def swap(match: re.Match[str]) -> str:
        return tracked.get(match.group(0), match.group(0))

    text_out = LINK_RE.sub(swap, text) + f"\n\n--\n{footer}"
    escaped = html.escape(text)
    escaped = LINK_RE.sub(
        lambda m: (
            f'<a href="{html.escape(tracked.get(html.unescape(m.group(0)), m.group(0)))}">{m.group(0)}</a>'
        ),
        escaped,
    )
    pixel = public_url(reverse("marketing:open", args=[open_token(recipient_id)]))
    html_out = (
        '<div style="white-space:pre-wrap">' + escaped + "</div>"
        f'<p style="font-size:small;color:#666">{html.escape(footer)}</p>'
        f'<img src="{html.escape(pixel)}" width="1" height="1" alt="">'
    )
    return text_out, html_out


def _audience(actor: Actor, campaign: Campaign) -> list[int]:
    segment = campaign.segment
    assert segment is not None
    if segment.frozen_at:
        members = SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
        return list(
            permissions.visible(
                actor.user, RecordKind.CONTACT, Contact.objects.filter(pk__in=members)
            ).values_list("pk", flat=True)
        )
    return list(
        rules.contacts_matching(user=actor.user, rules=segment.rules).values_list("pk", flat=True)
    )


def _prepare(campaign: Campaign) -> None:
    """Split the audience, write the recipient rows and queue one batch with the gate:
    in one transaction, so a second run finds the batch and does not split again."""
    from rapport.consent.sending import OutboundEmail, send_queue_many
    from rapport.consent.services import preferences_url

    actor = Actor(user=campaign.owner, via=Via.SYSTEM, context={"campaign": campaign.pk})
    variants = list(campaign.variants.order_by("id"))
    for variant in variants:
        variant.links = links_of(variant.body)
        variant.save(update_fields=["links"])
    contact_ids = _audience(actor, campaign)
    addresses = _addresses(contact_ids)
    accounts = _accounts(contact_ids)
    rows = [
        CampaignRecipient(
            campaign=campaign,
            variant=variant,
            contact_id=pk,
            account_id=accounts.get(pk),
            address=addresses.get(pk, ""),
            draw=draw,
            status=CampaignRecipient.Status.QUEUED
            if pk in addresses
            else CampaignRecipient.Status.NO_ADDRESS,
            reason="" if pk in addresses else "The contact has no e-mail address.",
        )  # fmt: skip
        for pk, variant, draw in assign_variants(
            seed=campaign.seed, campaign_id=campaign.pk, contact_ids=contact_ids, variants=variants
        )
    ]
    CampaignRecipient.objects.bulk_create(rows, batch_size=CHUNK)
    sendable = list(
        CampaignRecipient.objects.filter(campaign=campaign, status=CampaignRecipient.Status.QUEUED)
        .select_related("variant", "contact")
        .order_by("id")
    )

    def messages() -> Iterable[OutboundEmail]:
        for r in sendable:
            text, html_body = render_message(
                variant=r.variant, recipient_id=r.pk,
                footer=f"Change what you receive from us: {preferences_url(r.contact)}" if r.contact else "",
            )  # fmt: skip
            yield OutboundEmail(
                contact_id=r.contact_id, to_address=r.address, purpose=campaign.purpose.key,
                subject=r.variant.subject, text=text, html=html_body,
                related_kind="campaign", related_id=r.pk,
            )  # fmt: skip

    batch = send_queue_many(
        actor=actor, name=f"Campaign {campaign.pk}: {campaign.name}", purpose=campaign.purpose.key,
        messages=messages(), start=False,
    )  # fmt: skip
    by_recipient = {
        rid: (pk, mid)
        for pk, rid, mid in OutboundMessage.objects.filter(batch_id=batch.pk).values_list(
            "pk", "related_id", "message_id"
        )
    }
    for r in sendable:
        r.outbound_id, mid = by_recipient[r.pk]
        r.message_id = mid.strip().strip("<>")  # as mail reads ids: without the brackets
    CampaignRecipient.objects.bulk_update(sendable, ["outbound_id", "message_id"], batch_size=CHUNK)
    campaign.batch_id = batch.pk
    campaign.status = Campaign.Status.SENDING
    campaign.started_at = timezone.now()
    campaign.counts = {"audience": len(rows), "no_address": len(rows) - len(sendable)}
    campaign.save(update_fields=["batch_id", "status", "started_at", "counts", "updated_at"])


_OUTCOMES: dict[str, str] = {
    OutboundMessage.Status.SENT: CampaignRecipient.Status.SENT,
    OutboundMessage.Status.BLOCKED: CampaignRecipient.Status.BLOCKED,
    OutboundMessage.Status.FAILED: CampaignRecipient.Status.FAILED,
    OutboundMessage.Status.BOUNCED: CampaignRecipient.Status.BOUNCED,
}


def campaign_sync(*, campaign: Campaign) -> dict[str, int]:
    """Copy what the gate did with each message onto its recipient, and reach the
    ``campaign_sent`` touchpoint once per message sent. Safe to run twice: only rows
    still queued change."""
    pending = CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.QUEUED, outbound_id__isnull=False
    )
    ids = list(pending.order_by("id").values_list("pk", "outbound_id"))
    for start in range(0, len(ids), CHUNK):
        chunk = dict(ids[start : start + CHUNK])
        outcome = {
            pk: (status, reason, sent_at)
            for pk, status, reason, sent_at in OutboundMessage.objects.filter(
                pk__in=chunk.values()
            ).values_list("pk", "status", "reason", "sent_at")
        }
        with transaction.atomic():
            rows = list(
                CampaignRecipient.objects.select_for_update().filter(
                    pk__in=chunk, status=CampaignRecipient.Status.QUEUED
                )
            )
            changed = []
            for row in rows:
                status, reason, sent_at = outcome.get(row.outbound_id, (None, "", None))  # type: ignore[arg-type]
                if status not in _OUTCOMES:
                    continue
                row.status, row.reason, row.sent_at = _OUTCOMES[status], reason[:300], sent_at
                changed.append(row)
                if row.status == CampaignRecipient.Status.SENT:
                    touchpoint_reached(
                        kind="campaign_sent", contact_id=row.contact_id, account_id=row.account_id,
                        department=Department.MARKETING, object_kind="campaign", object_id=campaign.pk,
                        staff_id=campaign.owner_id, occurred_at=sent_at,
                    )  # fmt: skip
            CampaignRecipient.objects.bulk_update(changed, ["status", "reason", "sent_at"])
    counts: dict[str, int] = dict(campaign.counts or {})
    for status in CampaignRecipient.Status.values:
        counts[status] = CampaignRecipient.objects.filter(campaign=campaign, status=status).count()
    left = counts.get(CampaignRecipient.Status.QUEUED, 0)
    done = left == 0
    Campaign.objects.filter(pk=campaign.pk).update(
        counts=counts,
        status=Campaign.Status.SENT if done else Campaign.Status.SENDING,
        finished_at=timezone.now() if done else None,
        updated_at=timezone.now(),
    )
    return counts


def campaign_send_run(*, campaign_id: int) -> dict[str, int]:
    """The background job: prepare the batch (once), let the gate send it (resumable),
    and follow its outcome. Safe to run twice."""
    from rapport.consent.tasks import send_batch_task

    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("purpose", "segment", "owner")
            .filter(pk=campaign_id)
            .first()
        )
        if campaign is None or campaign.status not in (
            Campaign.Status.SCHEDULED,
            Campaign.Status.SENDING,
        ):
            return {}
        if campaign.batch_id is None:
            _prepare(campaign)
    assert campaign.batch_id is not None
    # The gate's own job, run here: the gate claims each message and checks its consent
    # at the moment it goes (a withdrawal meanwhile blocks it).
    send_batch_task.call(campaign.batch_id)
    return campaign_sync(campaign=campaign)


# --- What recipients did --------------------------------------------------------------


def _unsign(token: str, salt: str) -> str:
    try:
        return signing.Signer(salt=salt).unsign(token)
    except signing.BadSignature:
        raise NotFound("This link is not valid.") from None


def record_open(*, token: str) -> None:
    """The pixel was loaded: the message was opened, or a mail client or privacy proxy
    fetched its images (docs/marketing.md: opens are an estimate)."""
    value = _unsign(token, OPEN_SALT)
    if not value.isdigit():
        raise NotFound("This link is not valid.")
    now = timezone.now()
    qs = CampaignRecipient.objects.filter(pk=int(value))
    qs.update(open_count=F("open_count") + 1)
    qs.filter(opened_at__isnull=True).update(opened_at=now)


def record_click(*, token: str) -> str:
    """A tracked link was followed: the URL the campaign's variant holds at that index
    (the token names the index, never a URL, so it cannot redirect anywhere else)."""
    value = _unsign(token, CLICK_SALT)
    rid, _, index = value.partition(".")
    if not rid.isdigit() or not index.isdigit():
        raise NotFound("This link is not valid.")
    recipient = (
        CampaignRecipient.objects.select_related("variant", "campaign").filter(pk=int(rid)).first()
    )
    if recipient is None:
        raise NotFound("This link is no longer valid.")
    links = recipient.variant.links or []
    if int(index) >= len(links) or not str(links[int(index)]).startswith(("https://", "http://")):
        raise NotFound("This link is not valid.")
    url = str(links[int(index)])
    now = timezone.now()
    with transaction.atomic():
        first = CampaignRecipient.objects.filter(pk=recipient.pk, clicked_at__isnull=True).update(
            clicked_at=now
        )
        CampaignRecipient.objects.filter(pk=recipient.pk).update(click_count=F("click_count") + 1)
        # A click means the message was read, whatever the pixel said.
        CampaignRecipient.objects.filter(pk=recipient.pk, opened_at__isnull=True).update(
            opened_at=now
        )
        if first and recipient.contact_id:
            events.campaign_clicked(recipient=recipient, url=url, at=now)
    return url


def record_replies(
    *, message_ids: Iterable[str], contact_ids: Iterable[int], from_address: str, at: dt.datetime
) -> int:
    """Mail that answers a campaign message (its In-Reply-To or References name the
    message) from the person it went to: the recipient replied."""
    ids = [m.strip().strip("<>") for m in message_ids if m and m.strip()]
    if not ids:
        return 0
    contacts = set(contact_ids)
    count = 0
    for recipient in CampaignRecipient.objects.select_related("campaign").filter(
        message_id__in=ids, replied_at__isnull=True
    ):
        if (
            recipient.contact_id not in contacts
            and recipient.address != (from_address or "").lower()
        ):
            continue
        with transaction.atomic():
            if CampaignRecipient.objects.filter(pk=recipient.pk, replied_at__isnull=True).update(
                replied_at=at
            ):
                events.campaign_replied(recipient=recipient, at=at)
                count += 1
    return count


# --- The winner -----------------------------------------------------------------------


def campaign_choose_winner(
    *, actor: Actor, campaign: Campaign, variant: CampaignVariant | None = None
) -> Campaign:
    """Record the winner: the one the test finds (``stats.pick_winner`` on clicks), or one
    a person picks (the note says it was picked, not found)."""
    from rapport.marketing import selectors, stats

    permissions.require_record(actor.user, "change", KIND, campaign)
    if campaign.status != Campaign.Status.SENT:
        raise ValidationFailed(
            "No winner yet.", errors={"status": ["The campaign has not been sent."]}
        )
    if variant is not None and variant.campaign_id != campaign.pk:
        raise ValidationFailed(
            "No such variant.", errors={"variant": ["Not a variant of this campaign."]}
        )
    if variant is None:
        rows = selectors.variant_outcomes(campaign=campaign)
        result = stats.pick_winner([(r.variant.pk, r.clicks, r.delivered) for r in rows])
        if result.winner is None:
            raise ValidationFailed("No winner.", errors={"variant": [result.reason]})
        variant = campaign.variants.get(pk=result.winner)
        note = result.reason
    else:
        note = f"Picked by {actor.name}."
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        old = locked.winner_id
        locked.winner, locked.winner_note, locked.winner_chosen_at = (
            variant,
            note[:300],
            timezone.now(),
        )
        locked.save(update_fields=["winner", "winner_note", "winner_chosen_at", "updated_at"])
        audit_record(
            actor=actor,
            action="change",
            entity_kind="campaign",
            entity_id=locked.pk,
            obj=locked,
            changes={"winner": [old, variant.pk]},
        )
    return locked


# --- Events ---------------------------------------------------------------------------


def _clean_event(data: dict[str, Any], event: Event | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if event is None or "name" in data:
        out["name"] = _text(data, "name", errors, required=True, limit=200)
    if "place" in data:
        out["place"] = _text(data, "place", errors, required=False, limit=200)
    if "consent_text" in data:
        out["consent_text"] = _text(data, "consent_text", errors, required=False, limit=2000)
    for name in ("starts_on", "ends_on"):
        if name in data or (event is None and name == "starts_on"):
            raw = data.get(name)
            if isinstance(raw, dt.date):
                out[name] = raw
            elif raw in (None, "") and name == "ends_on":
                out[name] = None
            else:
                try:
                    out[name] = dt.date.fromisoformat(str(raw))
                except ValueError:
                    errors[name] = ["A date as YYYY-MM-DD."]
    if out.get("ends_on") and out.get("starts_on") and out["ends_on"] < out["starts_on"]:
        errors["ends_on"] = ["Not before the first day."]
    if "purpose" in data:
        key = data["purpose"]
        purpose = Purpose.objects.filter(key=key, active=True).first() if key else None
        if key and purpose is None:
            errors["purpose"] = [f"No active consent purpose {key!r}."]
        out["purpose"] = purpose
    if errors:
        raise ValidationFailed("The event cannot be saved.", errors=errors)
    return out


def event_create(*, actor: Actor, data: dict[str, Any]) -> Event:
    permissions.require(actor.user, "add", KIND)
    cleaned = _clean_event(data, None)
    with transaction.atomic():
        event = Event.objects.create(owner=_user(actor), **cleaned)
        audit_record(
            actor=actor, action="create", entity_kind="event", entity_id=event.pk, obj=event
        )
    return event


def event_person_add(
    *,
    actor: Actor,
    event: Event,
    contact: Contact,
    consent: bool = False,
    note: str = "",
    card_entry_id: int | None = None,
) -> EventContact:
    """A person met at the event; with ``consent``, the event's purpose granted by e-mail
    in person, with the event's wording as evidence (the consent app's service records it,
    with its own rights check and double opt-in where the purpose asks for it)."""
    from rapport.consent.models import Channel, Source, Status
    from rapport.consent.services import consent_record

    permissions.require_record(actor.user, "change", KIND, event)
    permissions.require_record(actor.user, "view", RecordKind.CONTACT, contact)
    if consent and event.purpose is None:
        raise ValidationFailed(
            "No consent to record.", errors={"consent": ["The event asks for no purpose."]}
        )
    if len(note) > 300:
        raise ValidationFailed(
            "The person cannot be added.", errors={"note": ["At most 300 characters."]}
        )
    with transaction.atomic():
        person, created = EventContact.objects.get_or_create(
            event=event, contact=contact,
            defaults={"note": note, "met_by": _user(actor), "card_entry_id": card_entry_id},
        )  # fmt: skip
        if consent and person.consent_event_id is None:
            assert event.purpose is not None
            person.consent_event = consent_record(
                actor=actor, contact=contact, channel=Channel.EMAIL, purpose=event.purpose,
                status=Status.GRANTED, source=Source.IN_PERSON,
                evidence_text=event.consent_text or f"Agreed at {event.name} to receive {event.purpose.label}.",
                evidence_version=f"event-{event.pk}", note=f"Met at {event.name}"[:300],
            )  # fmt: skip
            person.save(update_fields=["consent_event", "updated_at"])
        if created:
            events.event_met(actor=actor, person=person)
            audit_record(
                actor=actor, action="create", entity_kind="event", entity_id=event.pk,
                object_kind="contact", object_id=contact.pk, changes={"person": [None, contact.pk]},
            )  # fmt: skip
    return person


def event_people_from_cards(*, actor: Actor, event: Event) -> int:
    """Add everyone whose business card the actor captured during the event's days."""
    from rapport.timeline.models import Entry, EntryLink

    start = dt.datetime.combine(event.starts_on, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(event.ends_on or event.starts_on, dt.time.max, tzinfo=dt.UTC)
    entries = Entry.objects.filter(kind="card", occurred_at__range=(start, end))
    if not permissions.is_system(actor.user):
        entries = entries.filter(staff=actor.user)
    links = EntryLink.objects.filter(entry__in=entries, contact__isnull=False).values_list(
        "contact_id", "entry_id"
    )
    added = 0
    for contact_id, entry_id in links:
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None or not permissions.can_see_record(
            actor.user, RecordKind.CONTACT, contact
        ):
            continue
        if not EventContact.objects.filter(event=event, contact=contact).exists():
            event_person_add(actor=actor, event=event, contact=contact, card_entry_id=entry_id)
            added += 1
    return added
