"""Writes of sales: leads, deals, roles, stage moves, pipelines. Web, API, forms and the
caller screen all come through here.

Every service checks the actor's rights (``RecordKind.LEAD``, ``DEAL``, ``SALES_SETUP``,
record visibility by team or own as for contacts), runs in one transaction, refuses a stale
``expected_version``, bumps the version, writes the audit entry with old and new values and
records the timeline event. Every way a lead comes in runs the one duplicate check
(``identity.selectors.likely_duplicates``): a known person becomes a lead on their existing
contact, never a second record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record, diff, snapshot
from rapport.core.errors import NotFound, ValidationFailed, VersionConflict
from rapport.core.touchpoints import touchpoint_reached
from rapport.customers import normalize
from rapport.customers import selectors as customer_selectors
from rapport.customers import services as customer_services
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.customers.services import ContactParts
from rapport.identity import check as identity_check
from rapport.identity import selectors as identity_selectors
from rapport.sales import events
from rapport.sales.models import (
    AssignmentRule,
    Deal,
    DealRole,
    DealStageChange,
    Lead,
    LeadForm,
    LeadFormPost,
    LostReason,
    Pipeline,
    ScoreRule,
    Stage,
)
from rapport.timeline.models import EntryLink
from rapport.users import permissions
from rapport.users.models import RecordKind, Role, Team, User

Errors = dict[str, list[str]]

DEAL_FIELDS = [
    "name", "account", "primary_contact", "amount", "currency", "expected_close", "owner",
    "team", "source", "pipeline", "stage", "status", "forecast_category", "lost_reason",
    "lost_note", "description", "closed_at",
]  # fmt: skip
DEAL_EDITABLE = (
    "name", "primary_contact", "amount", "currency", "expected_close", "owner", "team",
    "source", "forecast_category", "description",
)  # fmt: skip
LEAD_FIELDS = [
    "contact", "account", "name", "email", "phone", "company_name", "country", "source",
    "status", "disqualify_reason", "owner", "team", "score", "follow_up_on", "role", "need",
    "budget", "timing", "notes", "converted_deal",
]  # fmt: skip
LEAD_EDITABLE = (
    "contact", "account", "name", "email", "phone", "company_name", "country", "source",
    "owner", "team", "follow_up_on", "role", "need", "budget", "timing", "notes",
)  # fmt: skip
TEXT_LIMITS = {
    "name": 200, "email": 254, "phone": 30, "company_name": 200, "source": 100, "role": 200,
    "budget": 200, "timing": 200, "need": 5000, "notes": 10000, "description": 10000,
    "lost_note": 500, "disqualify_reason": 300,
}  # fmt: skip
MAX_AMOUNT = Decimal("999999999999.99")


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _lock(model: Any, pk: int, expected_version: int | None) -> Any:
    try:
        obj = model._default_manager.select_for_update().get(pk=pk)
    except model.DoesNotExist:
        raise NotFound(f"No such {model._meta.verbose_name}.") from None
    if expected_version is not None and obj.version != expected_version:
        raise VersionConflict(
            f"This {model._meta.verbose_name} was changed by someone else (now version "
            f"{obj.version}, you had {expected_version}). Reload it and apply your change again.",
            current_version=obj.version,
        )
    return obj


# --- cleaning -------------------------------------------------------------------------------


def clean_text(errors: Errors, name: str, value: Any) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        _add(errors, name, "Must be text.")
        return None
    try:
        normalize.check_text(value)
    except ValueError as exc:
        _add(errors, name, str(exc))
        return None
    value = value.strip() if name in ("need", "notes", "description") else " ".join(value.split())
    if len(value) > TEXT_LIMITS.get(name, 200):
        _add(errors, name, f"At most {TEXT_LIMITS.get(name, 200)} characters.")
        return None
    return value


def clean_amount(errors: Errors, value: Any) -> Decimal | None:
    """Money is a Decimal with two places: a float never gets in (0.1 + 0.2 is not 0.3)."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = (
            Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else Decimal(0)
        )
    except InvalidOperation:
        _add(errors, "amount", "Enter an amount such as 1200 or 1200.50.")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        _add(errors, "amount", "Enter an amount from 0 to 999,999,999,999.99.")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        _add(errors, "amount", "At most two decimal places.")
        return None
    return amount.quantize(Decimal("0.01"))


def clean_currency(errors: Errors, value: Any) -> str | None:
    code = str(value or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        _add(errors, "currency", "Enter an ISO 4217 currency code such as EUR, GBP or USD.")
        return None
    return code


def _date(errors: Errors, name: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        _add(errors, name, "Enter a date as YYYY-MM-DD.")
        return None


def _country(errors: Errors, value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return normalize.normalize_country(str(value))
    except ValueError as exc:
        _add(errors, "country", str(exc))
        return ""


def _pk(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if hasattr(value, "pk"):
        return int(value.pk)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0  # matches no row


def _user(errors: Errors, name: str, value: Any) -> User | None:
    if value in (None, ""):
        return None
    pk = _pk(value)
    found = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if found is None:
        _add(errors, name, "No such active user.")
    return found


def _team(errors: Errors, value: Any) -> Team | None:
    if value in (None, ""):
        return None
    pk = _pk(value)
    found = Team.objects.filter(pk=pk).first() if pk else None
    if found is None:
        _add(errors, "team", "No such team.")
    return found


def _visible(actor: Actor, kind: str, model: Any, errors: Errors, name: str, value: Any) -> Any:
    """A contact or account the actor may see, or an error that does not say whether an
    invisible one exists."""
    if value in (None, ""):
        return None
    pk = _pk(value)
    obj = model.objects.filter(pk=pk).first() if pk else None
    if obj is None or not permissions.can_see_record(actor.user, kind, obj):
        _add(errors, name, f"No such {kind}.")
        return None
    return obj


def _first_team(user: User | None) -> Team | None:
    if user is None:
        return None
    return user.teams.order_by("name").first()


# --- pipelines and stages -------------------------------------------------------------------


def default_pipeline() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    if pipeline is None:
        raise ValidationFailed(
            "There is no pipeline yet.", errors={"pipeline": ["Create one first."]}
        )
    return pipeline


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = (
        pipeline.stages.filter(kind=Stage.Kind.OPEN, is_active=True).order_by("order", "id").first()
    )
    if stage is None:
        raise ValidationFailed("The pipeline has no open stage.", errors={"stage": ["Add one."]})
    return stage


def _clean_pipeline(
    data: dict[str, Any], errors: Errors, existing: Pipeline | None
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in data or existing is None:
        name = clean_text(errors, "name", data.get("name"))
        if name == "":
            _add(errors, "name", "Required.")
        elif name is not None:
            cleaned["name"] = name
    if "currency" in data:
        code = clean_currency(errors, data["currency"])
        if code:
            cleaned["currency"] = code
    for flag in ("is_default", "is_active"):
        if flag in data:
            cleaned[flag] = bool(data[flag])
    return cleaned


def pipeline_create(*, actor: Actor, data: dict[str, Any]) -> Pipeline:
    permissions.require(actor.user, "add", RecordKind.SALES_SETUP)
    errors: Errors = {}
    cleaned = _clean_pipeline(data, errors, None)
    if errors:
        raise ValidationFailed("The pipeline has invalid values.", errors=errors)
    with transaction.atomic():
        if cleaned.get("is_default"):
            Pipeline.objects.filter(is_default=True).update(is_default=False)
        try:
            with transaction.atomic():
                pipeline = Pipeline.objects.create(**cleaned)
        except IntegrityError:
            raise ValidationFailed(
                "A pipeline has that name.", errors={"name": ["Taken."]}
            ) from None
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="pipeline",
                     entity_id=pipeline.pk, obj=pipeline, changes=diff({}, cleaned and snapshot(pipeline, list(cleaned))))  # fmt: skip
    return pipeline


def _setup_save(
    actor: Actor,
    locked: Any,
    cleaned: dict[str, Any],
    fields: list[str],
    pipeline_id: int,
    taken: str,
) -> Any:
    """Apply a pipeline's or stage's changes: version, a friendly error for a taken name,
    the audit entry (on the pipeline)."""
    before = snapshot(locked, fields)
    for k, v in cleaned.items():
        setattr(locked, k, v)
    changes = diff(before, snapshot(locked, fields))
    if changes:
        locked.version += 1
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise ValidationFailed(taken, errors={"name": ["Taken."]}) from None
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="pipeline",
                     entity_id=pipeline_id, obj=locked, changes=changes)  # fmt: skip
    return locked


def pipeline_update(
    *, actor: Actor, pipeline: Pipeline, data: dict[str, Any], expected_version: int | None = None
) -> Pipeline:
    """One default pipeline: making this one the default unsets the other."""
    permissions.require(actor.user, "change", RecordKind.SALES_SETUP)
    errors: Errors = {}
    cleaned = _clean_pipeline(data, errors, pipeline)
    if errors:
        raise ValidationFailed("The pipeline has invalid values.", errors=errors)
    with transaction.atomic():
        locked = _lock(Pipeline, pipeline.pk, expected_version)
        if cleaned.get("is_default"):
            Pipeline.objects.filter(is_default=True).exclude(pk=locked.pk).update(is_default=False)
        fields = ["name", "currency", "is_default", "is_active"]
        return _setup_save(actor, locked, cleaned, fields, locked.pk, "A pipeline has that name.")


def _clean_stage(data: dict[str, Any], errors: Errors, existing: Stage | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in data or existing is None:
        name = clean_text(errors, "name", data.get("name"))
        if name == "":
            _add(errors, "name", "Required.")
        elif name is not None:
            cleaned["name"] = name
    if "order" in data:
        try:
            cleaned["order"] = max(0, min(int(data["order"]), 32767))
        except (TypeError, ValueError):
            _add(errors, "order", "Enter a whole number.")
    if "probability" in data:
        try:
            p = Decimal(str(data["probability"]))
            if not (0 <= p <= 1):
                raise InvalidOperation
            cleaned["probability"] = p.quantize(Decimal("0.001"))
        except (InvalidOperation, ValueError):
            _add(errors, "probability", "Enter a probability from 0 to 1, such as 0.25.")
    if "kind" in data:
        if data["kind"] in Stage.Kind.values:
            cleaned["kind"] = data["kind"]
        else:
            _add(errors, "kind", f"Choose one of: {', '.join(Stage.Kind.values)}.")
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    return cleaned


def stage_create(*, actor: Actor, pipeline: Pipeline, data: dict[str, Any]) -> Stage:
    permissions.require(actor.user, "add", RecordKind.SALES_SETUP)
    errors: Errors = {}
    cleaned = _clean_stage(data, errors, None)
    if errors:
        raise ValidationFailed("The stage has invalid values.", errors=errors)
    with transaction.atomic():
        cleaned.setdefault(
            "order",
            (pipeline.stages.order_by("-order").values_list("order", flat=True).first() or 0) + 1,
        )
        try:
            with transaction.atomic():
                stage = Stage.objects.create(pipeline=pipeline, **cleaned)
        except IntegrityError:
            raise ValidationFailed(
                "The pipeline has a stage of that name.", errors={"name": ["Taken."]}
            ) from None
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="pipeline",
                     entity_id=pipeline.pk, obj=stage, changes=diff({}, snapshot(stage, list(cleaned))))  # fmt: skip
    return stage


def stage_update(
    *, actor: Actor, stage: Stage, data: dict[str, Any], expected_version: int | None = None
) -> Stage:
    """A stage's kind cannot change while deals are in it: their status would lie."""
    permissions.require(actor.user, "change", RecordKind.SALES_SETUP)
    errors: Errors = {}
    cleaned = _clean_stage(data, errors, stage)
    if errors:
        raise ValidationFailed("The stage has invalid values.", errors=errors)
    with transaction.atomic():
        locked = _lock(Stage, stage.pk, expected_version)
        if "kind" in cleaned and cleaned["kind"] != locked.kind and locked.deals.exists():
            raise ValidationFailed(
                "Deals are in this stage.", errors={"kind": ["Move its deals first."]}
            )
        fields = ["name", "order", "probability", "kind", "is_active"]
        return _setup_save(
            actor,
            locked,
            cleaned,
            fields,
            locked.pipeline_id,
            "The pipeline has a stage of that name.",
        )


def stage_delete(*, actor: Actor, stage: Stage, expected_version: int | None = None) -> None:
    """Only a stage no deal has ever been in: the history points at it."""
    permissions.require(actor.user, "delete", RecordKind.SALES_SETUP)
    with transaction.atomic():
        locked = _lock(Stage, stage.pk, expected_version)
        used = (
            locked.deals.exists()
            or DealStageChange.objects.filter(Q(to_stage=locked) | Q(from_stage=locked)).exists()
        )
        if used:
            raise ValidationFailed(
                "Deals have been in this stage.", errors={"stage": ["Deactivate it instead."]}
            )
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, entity_kind="pipeline",
                     entity_id=locked.pipeline_id, obj=locked)  # fmt: skip
        locked.delete()


# --- deals ------------------------------------------------------------------------------


def _clean_deal(actor: Actor, data: dict[str, Any], existing: Deal | None) -> dict[str, Any]:
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    allowed = set(DEAL_EDITABLE) | ({"account", "pipeline", "stage"} if existing is None else set())
    for name in data:
        if name not in allowed:
            _add(
                errors,
                name,
                "Unknown field." if name not in DEAL_FIELDS else "Cannot be changed here.",
            )
    for name in ("name", "source", "description"):
        if name in data:
            value = clean_text(errors, name, data[name])
            if value is not None:
                cleaned[name] = value
    if (existing is None or "name" in data) and not cleaned.get("name") and "name" not in errors:
        _add(errors, "name", "Required.")
    if existing is None:
        account = _visible(
            actor, RecordKind.ACCOUNT, Account, errors, "account", data.get("account")
        )
        if account is None and "account" not in errors:
            _add(errors, "account", "Required: a deal is on an account.")
        cleaned["account"] = account
        pipeline = None
        if data.get("pipeline") not in (None, ""):
            pipeline = Pipeline.objects.filter(pk=_pk(data["pipeline"]), is_active=True).first()
            if pipeline is None:
                _add(errors, "pipeline", "No such pipeline.")
        else:
            try:
                pipeline = default_pipeline()
            except ValidationFailed as exc:
                errors.update(exc.errors)
        cleaned["pipeline"] = pipeline
        if pipeline is not None:
            if data.get("stage") not in (None, ""):
                stage = pipeline.stages.filter(pk=_pk(data["stage"])).first()
                if stage is None:
                    _add(errors, "stage", "No such stage in this pipeline.")
                elif stage.kind != Stage.Kind.OPEN:
                    _add(errors, "stage", "A new deal starts in an open stage.")
                cleaned["stage"] = stage
            else:
                try:
                    cleaned["stage"] = first_open_stage(pipeline)
                except ValidationFailed as exc:
                    errors.update(exc.errors)
    if "primary_contact" in data:
        cleaned["primary_contact"] = _visible(
            actor, RecordKind.CONTACT, Contact, errors, "primary_contact", data["primary_contact"]
        )
    if "amount" in data:
        amount = clean_amount(errors, data["amount"])
        if amount is not None:
            cleaned["amount"] = amount
    if "currency" in data and data["currency"] not in (None, ""):
        code = clean_currency(errors, data["currency"])
        if code:
            cleaned["currency"] = code
    if "expected_close" in data:
        cleaned["expected_close"] = _date(errors, "expected_close", data["expected_close"])
    if "owner" in data:
        cleaned["owner"] = _user(errors, "owner", data["owner"])
    if "team" in data:
        cleaned["team"] = _team(errors, data["team"])
    if "forecast_category" in data:
        if data["forecast_category"] in Deal.ForecastCategory.values:
            cleaned["forecast_category"] = data["forecast_category"]
        else:
            _add(
                errors,
                "forecast_category",
                f"Choose one of: {', '.join(Deal.ForecastCategory.values)}.",
            )
    if errors:
        raise ValidationFailed("The deal has invalid values.", errors=errors)
    return cleaned


def _stage_row(deal: Deal, *, old: Stage | None, by: Any, at: dt.datetime) -> DealStageChange:
    return DealStageChange.objects.create(
        deal=deal, from_stage=old, to_stage=deal.stage, at=at,
        by=by if getattr(by, "pk", None) else None, amount=deal.amount, currency=deal.currency,
        probability=deal.stage.probability, forecast_category=deal.forecast_category,
        expected_close=deal.expected_close,
    )  # fmt: skip


def deal_create(*, actor: Actor, data: dict[str, Any], at: dt.datetime | None = None) -> Deal:
    """A deal on an account (required), in the pipeline's first open stage unless one is
    named; owned by the actor unless an owner is given; its first stage-history row.
    ``at`` backdates it (demo data and imports of past deals only)."""
    permissions.require(actor.user, "add", RecordKind.DEAL)
    if "owner" in data:
        permissions.require_fields_writable(actor.user, RecordKind.DEAL, ["owner"])
    return _deal_insert(actor, _clean_deal(actor, data, None), at=at)


def _deal_insert(
    actor: Actor,
    cleaned: dict[str, Any],
    *,
    at: dt.datetime | None = None,
    owner: User | None = None,
) -> Deal:
    now = at or timezone.now()
    with transaction.atomic():
        if cleaned.get("owner") is None:
            cleaned["owner"] = owner or (actor.user if getattr(actor.user, "pk", None) else None)
        cleaned.setdefault("team", _first_team(cleaned.get("owner")))
        cleaned.setdefault("currency", cleaned["pipeline"].currency)
        deal = Deal(**cleaned, status=cleaned["stage"].kind, stage_entered_at=now)
        deal.created_by = actor.user if getattr(actor.user, "pk", None) else None
        deal.save()
        if at is not None:
            Deal.objects.filter(pk=deal.pk).update(created_at=at)
        _stage_row(deal, old=None, by=actor.user, at=now)
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="deal",
                     entity_id=deal.pk, obj=deal, changes=diff({}, snapshot(deal, DEAL_FIELDS)))  # fmt: skip
        events.deal_created(actor=actor, deal=deal)
    return deal


def deal_update(
    *, actor: Actor, deal: Deal, data: dict[str, Any], expected_version: int | None = None
) -> Deal:
    """Change a deal's fields (not its stage: ``deal_stage_change`` keeps the history)."""
    permissions.require_record(actor.user, "change", RecordKind.DEAL, deal)
    if "owner" in data:
        permissions.require_fields_writable(actor.user, RecordKind.DEAL, ["owner"])
    cleaned = _clean_deal(actor, data, deal)
    with transaction.atomic():
        locked = _lock(Deal, deal.pk, expected_version)
        before = snapshot(locked, DEAL_FIELDS)
        for k, v in cleaned.items():
            setattr(locked, k, v)
        changes = diff(before, snapshot(locked, DEAL_FIELDS))
        if changes:
            locked.version += 1
            locked.save()
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="deal",
                         entity_id=locked.pk, obj=locked, changes=changes)  # fmt: skip
    return locked


def deal_stage_change(
    *,
    actor: Actor,
    deal: Deal,
    stage: Stage | int,
    lost_reason: LostReason | int | None = None,
    lost_note: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline and keep the move in its history.

    Losing needs a lost reason. Won and lost close the deal (``closed_at``; forecast
    category closed or omitted); moving back to an open stage reopens it. The same stage
    again changes nothing."""
    permissions.require_record(actor.user, "change", RecordKind.DEAL, deal)
    errors: Errors = {}
    with transaction.atomic():
        locked = _lock(Deal, deal.pk, expected_version)
        target = Stage.objects.filter(pk=_pk(stage), pipeline_id=locked.pipeline_id).first()
        if target is None:
            raise ValidationFailed(
                "No such stage in this deal's pipeline.", errors={"stage": ["No such stage."]}
            )
        if target.pk == locked.stage_id:
            return locked
        reason = None
        if target.kind == Stage.Kind.LOST:
            reason = (
                LostReason.objects.filter(pk=_pk(lost_reason), is_active=True).first()
                if lost_reason
                else None
            )
            if reason is None:
                _add(errors, "lost_reason", "Say why the deal was lost.")
            note = clean_text(errors, "lost_note", lost_note)
        if errors:
            raise ValidationFailed("The deal cannot be lost without a reason.", errors=errors)
        now = at or timezone.now()
        before = snapshot(locked, DEAL_FIELDS)
        old = locked.stage
        locked.stage = target
        locked.status = target.kind
        locked.stage_entered_at = now
        if target.kind == Stage.Kind.OPEN:
            locked.closed_at = None
            locked.lost_reason = None
            locked.lost_note = ""
            if locked.forecast_category in (
                Deal.ForecastCategory.CLOSED,
                Deal.ForecastCategory.OMITTED,
            ):
                locked.forecast_category = Deal.ForecastCategory.PIPELINE
        else:
            locked.closed_at = now
            if target.kind == Stage.Kind.WON:
                locked.forecast_category = Deal.ForecastCategory.CLOSED
                locked.lost_reason = None
                locked.lost_note = ""
            else:
                locked.forecast_category = Deal.ForecastCategory.OMITTED
                locked.lost_reason = reason
                locked.lost_note = note or ""
        locked.version += 1
        locked.save()
        _stage_row(locked, old=old, by=actor.user, at=now)
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="deal",
                     entity_id=locked.pk, obj=locked, changes=diff(before, snapshot(locked, DEAL_FIELDS)))  # fmt: skip
        events.deal_stage_changed(actor=actor, deal=locked, old=old, new=target)
        if target.kind != Stage.Kind.OPEN:
            touchpoint_reached(
                kind="deal_won" if target.kind == Stage.Kind.WON else "deal_lost",
                contact_id=locked.primary_contact_id, account_id=locked.account_id,
                department="sales", object_kind="deal", object_id=locked.pk,
                staff_id=locked.owner_id, occurred_at=now,
            )  # fmt: skip
    return locked


def deal_delete(*, actor: Actor, deal: Deal, expected_version: int | None = None) -> None:
    permissions.require_record(actor.user, "delete", RecordKind.DEAL, deal)
    with transaction.atomic():
        locked = _lock(Deal, deal.pk, expected_version)
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, entity_kind="deal",
                     entity_id=locked.pk, obj=locked, changes=diff(snapshot(locked, DEAL_FIELDS), {}))  # fmt: skip
        Lead.objects.filter(converted_deal=locked).update(converted_deal=None)
        locked.delete()


def deal_role_add(
    *, actor: Actor, deal: Deal, contact: Contact | int, role: str, is_primary: bool = False
) -> DealRole:
    """A person around the deal with their part in the decision; one primary per deal."""
    permissions.require_record(actor.user, "change", RecordKind.DEAL, deal)
    errors: Errors = {}
    person = _visible(actor, RecordKind.CONTACT, Contact, errors, "contact", contact)
    if role not in DealRole.Role.values:
        _add(errors, "role", f"Choose one of: {', '.join(DealRole.Role.values)}.")
    if errors:
        raise ValidationFailed("The role has invalid values.", errors=errors)
    with transaction.atomic():
        locked = _lock(Deal, deal.pk, None)
        if DealRole.objects.filter(deal=locked, contact=person, role=role).exists():
            raise ValidationFailed(
                "They have that role on this deal already.", errors={"role": ["Already given."]}
            )
        if is_primary:
            DealRole.objects.filter(deal=locked, is_primary=True).update(is_primary=False)
        row = DealRole.objects.create(deal=locked, contact=person, role=role, is_primary=is_primary)
        Deal.objects.filter(pk=locked.pk).update(
            version=locked.version + 1, updated_at=timezone.now()
        )
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="deal", entity_id=locked.pk,
                     obj=row, changes={"role": [None, role], "contact": [None, person.pk]})  # fmt: skip
    return row


def deal_role_remove(*, actor: Actor, role: DealRole) -> None:
    permissions.require_record(actor.user, "change", RecordKind.DEAL, role.deal)
    with transaction.atomic():
        locked = _lock(Deal, role.deal_id, None)
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, entity_kind="deal", entity_id=locked.pk,
                     obj=role, changes={"role": [role.role, None], "contact": [role.contact_id, None]})  # fmt: skip
        DealRole.objects.filter(pk=role.pk).delete()
        Deal.objects.filter(pk=locked.pk).update(
            version=locked.version + 1, updated_at=timezone.now()
        )


# --- leads ----------------------------------------------------------------------------------


def _clean_lead(actor: Actor, data: dict[str, Any], existing: Lead | None) -> dict[str, Any]:
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    for name in data:
        if name not in LEAD_EDITABLE:
            _add(
                errors,
                name,
                "Unknown field." if name not in LEAD_FIELDS else "Cannot be changed here.",
            )
    for name in ("name", "company_name", "source", "role", "need", "budget", "timing", "notes"):
        if name in data:
            value = clean_text(errors, name, data[name])
            if value is not None:
                cleaned[name] = value
    if data.get("email"):
        try:
            cleaned["email"] = normalize.normalize_email(str(data["email"]))[0]
        except ValueError as exc:
            _add(errors, "email", str(exc))
    elif "email" in data:
        cleaned["email"] = ""
    if "country" in data:
        cleaned["country"] = _country(errors, data["country"])
    if data.get("phone"):
        region = cleaned.get("country") or (existing.country if existing else "") or None
        try:
            cleaned["phone"] = normalize.normalize_phone(str(data["phone"]), region)[0]
        except (ValueError, TypeError) as exc:
            _add(errors, "phone", str(exc))
    elif "phone" in data:
        cleaned["phone"] = ""
    if "follow_up_on" in data:
        cleaned["follow_up_on"] = _date(errors, "follow_up_on", data["follow_up_on"])
    if "owner" in data:
        cleaned["owner"] = _user(errors, "owner", data["owner"])
    if "team" in data:
        cleaned["team"] = _team(errors, data["team"])
    if "contact" in data:
        cleaned["contact"] = _visible(
            actor, RecordKind.CONTACT, Contact, errors, "contact", data["contact"]
        )
    if "account" in data:
        cleaned["account"] = _visible(
            actor, RecordKind.ACCOUNT, Account, errors, "account", data["account"]
        )
    if (
        existing is None
        and not any(cleaned.get(k) for k in ("name", "email", "phone", "contact", "company_name"))
        and not errors
    ):
        _add(errors, "name", "Give a name, an e-mail address, a phone number or a contact.")
    if errors:
        raise ValidationFailed("The lead has invalid values.", errors=errors)
    return cleaned


def known_contact(
    *, name: str, email: str, phone: str, company: str, country: str
) -> Contact | None:
    """The existing contact a new lead's person near-certainly is: the one duplicate check
    (``identity.selectors.likely_duplicates``), run as the system (whatever the actor may
    see: a lead must never make a second record of a known person), accepted at the
    automatic threshold of the match settings."""
    parts = ContactParts(
        emails=[{"email": email}] if email else [],
        phones=[{"number": phone, "region": country or None}] if phone else [],
    )
    matches = identity_selectors.likely_duplicates(
        actor=None, kind="contact", data={"full_name": name} if name else {}, parts=parts,
        organisation=company, limit=1,
    )  # fmt: skip
    if not matches or matches[0].probability < identity_check.match_settings().upper:
        return None
    return Contact.objects.filter(pk=matches[0].record_id).first()


def known_account(*, company: str, email: str, country: str) -> Account | None:
    """The account the lead's company is: the e-mail's domain, else the duplicate check on
    the company's name, at the automatic threshold."""
    if email:
        found = customer_selectors.account_for_email(actor=None, email=email)
        if found is not None:
            return found
    if not company:
        return None
    matches = identity_selectors.likely_duplicates(
        actor=None, kind="account", data={"name": company, "country": country}, domains=[], limit=1
    )
    if not matches or matches[0].probability < identity_check.match_settings().upper:
        return None
    return Account.objects.filter(pk=matches[0].record_id).first()


def _primary_account_id(contact: Contact) -> int | None:
    row = (
        AccountMembership.objects.filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("account_id", flat=True)
        .first()
    )
    return row


def _link_known(lead: Lead) -> None:
    """Fill the lead's contact and account from what the customer master already knows."""
    if lead.contact_id is None:
        lead.contact = known_contact(
            name=lead.name, email=lead.email, phone=lead.phone, company=lead.company_name,
            country=lead.country,
        )  # fmt: skip
    if lead.contact_id is not None:
        contact = lead.contact
        assert contact is not None
        lead.name = lead.name or contact.full_name
        if not lead.email:
            lead.email = (
                contact.emails.order_by("-is_primary", "id").values_list("email", flat=True).first()
                or ""
            )
        if not lead.phone:
            lead.phone = (
                contact.phones.order_by("-is_primary", "id").values_list("e164", flat=True).first()
                or ""
            )
        if lead.account_id is None:
            lead.account_id = _primary_account_id(contact)
    if lead.account_id is None:
        lead.account = known_account(
            company=lead.company_name, email=lead.email, country=lead.country
        )
    if lead.account_id is not None and not lead.company_name:
        lead.company_name = (
            Account.objects.filter(pk=lead.account_id).values_list("name", flat=True).first() or ""
        )


def _round_robin(rule: AssignmentRule) -> User | None:
    if rule.team_id is None:
        return None
    members = list(
        User.objects.filter(teams=rule.team_id, is_active=True)
        .exclude(role__in=[Role.READONLY, Role.SERVICE])
        .order_by("id")
    )
    if not members:
        return None
    after = [
        u for u in members if rule.last_assigned_id is not None and u.pk > rule.last_assigned_id
    ]
    chosen = after[0] if after else members[0]
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return chosen


def assignee_for(lead: Lead) -> tuple[User | None, Team | None, AssignmentRule | None]:
    """The first active rule, in order, that applies: by account owner when the company is
    known, by country, round robin within a team (decision 0016)."""
    rules = (
        AssignmentRule.objects.select_for_update().filter(is_active=True).order_by("order", "id")
    )
    for rule in rules:
        if rule.kind == AssignmentRule.Kind.ACCOUNT_OWNER:
            if lead.account_id is None:
                continue
            owner = User.objects.filter(
                pk=Account.objects.filter(pk=lead.account_id).values("owner_id")[:1], is_active=True
            ).first()
            if owner is not None:
                return owner, _first_team(owner), rule
        elif rule.kind == AssignmentRule.Kind.COUNTRY:
            if not lead.country or lead.country not in [str(c).upper() for c in rule.countries]:
                continue
            owner = (
                rule.user
                if rule.user_id and rule.user and rule.user.is_active
                else _round_robin(rule)
            )
            if owner is not None:
                return owner, rule.team or _first_team(owner), rule
        elif rule.kind == AssignmentRule.Kind.ROUND_ROBIN:
            owner = _round_robin(rule)
            if owner is not None:
                return owner, rule.team, rule
    return None, None, None


def score_of(lead: Lead) -> int:
    """Points from the active score rules: fit (a captured field equals or contains a
    value, without regard to case) and activity (the person's timeline entries lately)."""
    points = 0
    now = timezone.now()
    for rule in ScoreRule.objects.filter(is_active=True):
        if rule.kind == ScoreRule.Kind.ACTIVITY:
            if lead.contact_id is None:
                continue
            entries = EntryLink.objects.filter(
                contact_id=lead.contact_id, occurred_at__gte=now - dt.timedelta(days=rule.days)
            ).count()
            if entries >= max(rule.min_entries, 1):
                points += rule.points
            continue
        if rule.field not in ScoreRule.FIELDS:
            continue
        have = str(getattr(lead, rule.field, "") or "").casefold()
        want = rule.value.casefold()
        if (rule.kind == ScoreRule.Kind.EQUALS and have == want) or (
            rule.kind == ScoreRule.Kind.CONTAINS and want and want in have
        ):
            points += rule.points
    return points


def lead_create(
    *, actor: Actor, data: dict[str, Any], form: LeadForm | None = None, assign: bool | None = None
) -> Lead:
    """A lead, by hand, from the API, a web form or the caller screen: every path runs the
    duplicate check, so a known person's lead is on their existing contact (and account).
    Assignment rules give it an owner unless one is given or a sales rep enters it
    (``assign`` forces either way); the score rules score it."""
    permissions.require(actor.user, "add", RecordKind.LEAD)
    if "owner" in data:
        permissions.require_fields_writable(actor.user, RecordKind.LEAD, ["owner"])
    cleaned = _clean_lead(actor, data, None)
    with transaction.atomic():
        lead = Lead(**cleaned, form=form)
        lead.created_by = actor.user if getattr(actor.user, "pk", None) else None
        _link_known(lead)
        if assign is None:
            assign = "owner" not in cleaned and permissions.role_of(actor.user) != Role.SALES
        if assign:
            owner, team, _ = assignee_for(lead)
            if owner is not None:
                lead.owner, lead.team = owner, team or lead.team
        if lead.owner_id is None and "owner" not in cleaned and getattr(actor.user, "pk", None):
            lead.owner = actor.user
        if lead.team_id is None:
            lead.team = (form.team if form is not None else None) or _first_team(lead.owner)
        lead.score = score_of(lead)
        lead.save()
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="lead",
                     entity_id=lead.pk, obj=lead, changes=diff({}, snapshot(lead, LEAD_FIELDS)))  # fmt: skip
        events.lead_created(actor=actor, lead=lead)
    return lead


def _lead_change(actor: Actor, lead: Lead, expected_version: int | None, apply: Any) -> Lead:
    with transaction.atomic():
        locked = _lock(Lead, lead.pk, expected_version)
        before = snapshot(locked, LEAD_FIELDS)
        apply(locked)
        changes = diff(before, snapshot(locked, LEAD_FIELDS))
        if changes:
            locked.version += 1
            locked.save()
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="lead",
                         entity_id=locked.pk, obj=locked, changes=changes)  # fmt: skip
    return locked


def lead_update(
    *, actor: Actor, lead: Lead, data: dict[str, Any], expected_version: int | None = None
) -> Lead:
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)
    if "owner" in data:
        permissions.require_fields_writable(actor.user, RecordKind.LEAD, ["owner"])
    cleaned = _clean_lead(actor, data, lead)

    def apply(locked: Lead) -> None:
        for k, v in cleaned.items():
            setattr(locked, k, v)
        if "contact" in cleaned and locked.contact_id and not locked.account_id:
            locked.account_id = _primary_account_id(locked.contact)  # type: ignore[arg-type]
        locked.score = score_of(locked)

    return _lead_change(actor, lead, expected_version, apply)


def lead_assign(*, actor: Actor, lead: Lead, expected_version: int | None = None) -> Lead:
    """Give the lead to whom the assignment rules say (reassigning is an owner change)."""
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)
    permissions.require_fields_writable(actor.user, RecordKind.LEAD, ["owner"])

    def apply(locked: Lead) -> None:
        owner, team, _ = assignee_for(locked)
        if owner is not None:
            locked.owner, locked.team = owner, team or locked.team

    return _lead_change(actor, lead, expected_version, apply)


def lead_score(*, actor: Actor, lead: Lead) -> Lead:
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)

    def apply(locked: Lead) -> None:
        locked.score = score_of(locked)

    return _lead_change(actor, lead, None, apply)


def lead_qualify(
    *,
    actor: Actor,
    lead: Lead,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Lead:
    """Qualified: the role, need, budget and timing as far as known."""
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)
    notes = {
        k: v
        for k, v in (data or {}).items()
        if k in ("role", "need", "budget", "timing", "follow_up_on")
    }
    cleaned = _clean_lead(actor, notes, lead) if notes else {}

    def apply(locked: Lead) -> None:
        for k, v in cleaned.items():
            setattr(locked, k, v)
        locked.status = Lead.Status.QUALIFIED
        locked.disqualify_reason = ""
        locked.score = score_of(locked)

    return _lead_change(actor, lead, expected_version, apply)


def lead_disqualify(
    *, actor: Actor, lead: Lead, reason: str, expected_version: int | None = None
) -> Lead:
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)
    errors: Errors = {}
    text = clean_text(errors, "disqualify_reason", reason)
    if not text and not errors:
        _add(errors, "disqualify_reason", "Say why.")
    if errors:
        raise ValidationFailed("A disqualified lead needs a reason.", errors=errors)
    if lead.converted_deal_id:
        raise ValidationFailed("The lead is converted.", errors={"status": ["Converted already."]})

    def apply(locked: Lead) -> None:
        locked.status = Lead.Status.DISQUALIFIED
        locked.disqualify_reason = text or ""

    return _lead_change(actor, lead, expected_version, apply)


def lead_work(*, actor: Actor, lead: Lead, expected_version: int | None = None) -> Lead:
    """Someone is working the lead (new → working)."""
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)

    def apply(locked: Lead) -> None:
        if locked.status == Lead.Status.NEW:
            locked.status = Lead.Status.WORKING

    return _lead_change(actor, lead, expected_version, apply)


def lead_delete(*, actor: Actor, lead: Lead, expected_version: int | None = None) -> None:
    permissions.require_record(actor.user, "delete", RecordKind.LEAD, lead)
    with transaction.atomic():
        locked = _lock(Lead, lead.pk, expected_version)
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, entity_kind="lead",
                     entity_id=locked.pk, obj=locked, changes=diff(snapshot(locked, LEAD_FIELDS), {}))  # fmt: skip
        locked.delete()


def lead_convert(
    *, actor: Actor, lead: Lead, deal: dict[str, Any] | None = None, contact_role: str = "decision_maker",
    expected_version: int | None = None,
) -> tuple[Lead, Deal]:  # fmt: skip
    """Contact, account and deal in one step, linking what exists: the lead's contact, else
    the person the duplicate check finds, else a new contact; the contact's account, the
    e-mail's domain or the company found by name, else a new account. The contact gets the
    role ``contact_role`` (primary) on the new deal. Converting twice returns the first
    deal (the lead is locked, so a double click converts once)."""
    permissions.require_record(actor.user, "change", RecordKind.LEAD, lead)
    permissions.require(actor.user, "add", RecordKind.DEAL)
    if contact_role and contact_role not in DealRole.Role.values:
        raise ValidationFailed(
            "No such role.",
            errors={"contact_role": [f"Choose one of: {', '.join(DealRole.Role.values)}."]},
        )
    with transaction.atomic():
        locked = _lock(Lead, lead.pk, None)
        if locked.converted_deal_id is not None:
            existing = Deal.objects.filter(pk=locked.converted_deal_id).first()
            if existing is not None:
                return locked, existing
        if expected_version is not None and locked.version != expected_version:
            raise VersionConflict(
                "This lead was changed by someone else. Reload it and convert again.",
                current_version=locked.version,
            )
        if locked.status == Lead.Status.DISQUALIFIED:
            raise ValidationFailed(
                "The lead is disqualified.", errors={"status": ["Requalify it first."]}
            )
        before = snapshot(locked, LEAD_FIELDS)
        _link_known(locked)
        if locked.account_id is None:
            if not locked.company_name:
                raise ValidationFailed(
                    "A deal is on an account: give the lead's company.",
                    errors={"company_name": ["Required to convert."]},
                )
            # The new account and contact are the converter's (their role may not set owners).
            locked.account = customer_services.account_create(
                actor=actor, data={"name": locked.company_name, "country": locked.country}
            )
        if locked.contact_id is None:
            if not locked.name and not locked.email:
                raise ValidationFailed(
                    "The lead has no person to convert.", errors={"name": ["Required to convert."]}
                )
            parts = ContactParts(
                emails=[{"email": locked.email}] if locked.email else [],
                phones=[{"number": locked.phone}] if locked.phone else [],
                memberships=[{"account": locked.account_id, "job_title": locked.role[:150]}],
            )
            data = {"full_name": locked.name or locked.email, "source": locked.source[:100]}
            locked.contact = customer_services.contact_create(actor=actor, data=data, parts=parts)
        elif not AccountMembership.objects.filter(
            contact_id=locked.contact_id, account_id=locked.account_id
        ).exists():
            customer_services.part_add(
                actor=actor,
                parent=locked.contact,
                part="memberships",
                data={"account": locked.account_id},
            )
        values = dict(deal or {})
        values.setdefault(
            "name",
            f"{locked.company_name or locked.name}: {locked.need[:80]}".rstrip(": ") or "New deal",
        )
        values["account"] = locked.account_id
        values.setdefault("primary_contact", locked.contact_id)
        values.setdefault("source", locked.source)
        if "owner" in values:
            permissions.require_fields_writable(actor.user, RecordKind.DEAL, ["owner"])
        # The deal carries the lead's owner over: not an owner change by the converter.
        made = _deal_insert(
            actor,
            _clean_deal(actor, values, None),
            owner=locked.owner if "owner" not in values else None,
        )
        if contact_role:
            DealRole.objects.create(
                deal=made, contact_id=locked.contact_id, role=contact_role, is_primary=True
            )
        locked.status = Lead.Status.QUALIFIED
        locked.converted_deal = made
        locked.converted_at = timezone.now()
        locked.version += 1
        locked.save()
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="lead",
                     entity_id=locked.pk, obj=locked, changes=diff(before, snapshot(locked, LEAD_FIELDS)))  # fmt: skip
        events.lead_converted(actor=actor, lead=locked, deal=made)
    return locked, made


# --- lead forms -----------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_form_token() -> tuple[str, str, str]:
    """A lead form's token, its prefix (to recognise it) and the hash that is kept."""
    token = "lf_" + secrets.token_urlsafe(24)
    return token, token[:10], token_digest(token)


def lead_form_create(*, actor: Actor, data: dict[str, Any]) -> tuple[LeadForm, str]:
    """A public lead form and its token (shown this once; only its hash is kept)."""
    permissions.require(actor.user, "add", RecordKind.SALES_SETUP)
    errors: Errors = {}
    name = clean_text(errors, "name", data.get("name"))
    if not name and "name" not in errors:
        _add(errors, "name", "Required.")
    origins = data.get("allowed_origins") or []
    if not isinstance(origins, list) or not all(
        isinstance(o, str) and o.startswith(("https://", "http://")) and len(o) <= 200
        for o in origins
    ):
        _add(errors, "allowed_origins", "A list of origins such as https://www.example.com.")
    if errors:
        raise ValidationFailed("The form has invalid values.", errors=errors)
    token, prefix, digest = new_form_token()
    with transaction.atomic():
        form = LeadForm.objects.create(
            name=name or "", prefix=prefix, digest=digest,
            allowed_origins=[o.rstrip("/") for o in origins],
            source=clean_text(errors, "source", data.get("source")) or "Web form",
            team=_team(errors, data.get("team")),
        )  # fmt: skip
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="leadform",
                     entity_id=form.pk, obj=form, changes={"name": [None, name]})  # fmt: skip
    return form, token


def _address_hash(address: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()


FORM_FIELDS = (
    "name",
    "email",
    "phone",
    "company_name",
    "country",
    "need",
    "budget",
    "timing",
    "role",
)


def lead_form_post(*, token: str, fields: dict[str, Any], address: str, origin: str) -> str:
    """One post to a public lead form. Whatever happens (an unknown token, a robot, too
    many posts, a known person), the caller is told the same: the outcome is returned for
    the log and the tests, never to the poster."""
    form = LeadForm.objects.filter(digest=token_digest(str(token or "")), is_active=True).first()
    if form is None:
        return "unknown"
    now = timezone.now()
    digest = _address_hash(address)
    hour = now - dt.timedelta(hours=1)

    def log(outcome: str) -> str:
        LeadFormPost.objects.create(form=form, address_hash=digest, outcome=outcome)
        return outcome

    if form.allowed_origins and origin.rstrip("/") not in form.allowed_origins:
        return log(LeadFormPost.Outcome.INVALID)
    recent = LeadFormPost.objects.filter(form=form, at__gte=hour).aggregate(
        all=Count("id"), mine=Count("id", filter=Q(address_hash=digest))
    )
    if recent["all"] >= form.per_form_per_hour or recent["mine"] >= form.per_address_per_hour:
        return log(LeadFormPost.Outcome.LIMITED)
    if str(fields.get(form.honeypot) or "").strip():
        return log(LeadFormPost.Outcome.SPAM)
    data = {k: str(fields[k])[: TEXT_LIMITS.get(k, 200)] for k in FORM_FIELDS if fields.get(k)}
    data["source"] = form.source
    system = Actor(user=None, via="api", context={"lead_form": form.pk})
    try:
        lead_create(actor=system, data=data, form=form)
    except ValidationFailed:
        return log(LeadFormPost.Outcome.INVALID)
    return log(LeadFormPost.Outcome.ACCEPTED)
