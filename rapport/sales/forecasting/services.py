"""Writes of forecasting: quotas (set by those who may change the sales setup: managers
and admins), the manager's adjustment of a rep's forecast, and the weekly snapshots.

A quota is one row per rep (or team), period and currency: setting it again changes the
amount. An adjustment never changes the rep's figures: it is a row of its own beside
them, with who, when and why; a newer one for the same rep and period supersedes the
shown figure and the older ones stay as its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.core.errors import NotFound, ValidationFailed
from rapport.sales.forecasting.periods import Period, period_parse, quarter_of, week_of
from rapport.sales.models import ForecastAdjustment, ForecastSnapshot, ForecastSnapshotWeek, Quota
from rapport.sales.services import clean_amount, clean_currency, default_pipeline
from rapport.users import permissions
from rapport.users.models import RecordKind, Team, User

Errors = dict[str, list[str]]


def _rep(errors: Errors, value: Any, name: str = "user") -> User | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append("Give a user id.")
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        errors.setdefault(name, []).append("No such active user.")
    return user


def _team(errors: Errors, value: Any) -> Team | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        errors.setdefault("team", []).append("Give a team id.")
        return None
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        errors.setdefault("team", []).append("No such team.")
    return team


def _money(errors: Errors, data: dict[str, Any]) -> tuple[Any, str | None]:
    amount = clean_amount(errors, data.get("amount"))
    if data.get("amount") in (None, ""):
        errors.setdefault("amount", []).append('Give an amount, such as "25000.00".')
    currency = clean_currency(errors, data.get("currency") or default_pipeline().currency)
    return amount, currency


def _period(errors: Errors, value: Any) -> Period | None:
    try:
        return period_parse(str(value or ""))
    except ValidationFailed as exc:
        for k, v in exc.errors.items():
            errors.setdefault(k, []).extend(v)
        return None


def quota_set(*, actor: Actor, data: dict[str, Any]) -> tuple[Quota, bool]:
    """Set the quota of a rep (``user``) or a team for a month or quarter (``period``):
    created, or its amount changed. Returns the quota and whether it was created."""
    permissions.require(actor.user, "change", RecordKind.SALES_SETUP)
    errors: Errors = {}
    has_user, has_team = data.get("user") is not None, data.get("team") is not None
    if has_user == has_team:
        errors["user"] = ["Give either a user or a team, not both."]
    user = _rep(errors, data["user"]) if has_user else None
    team = _team(errors, data["team"]) if has_team and not has_user else None
    period = _period(errors, data.get("period"))
    amount, currency = _money(errors, data)
    if errors or period is None:
        raise ValidationFailed("The quota has invalid values.", errors=errors)
    with transaction.atomic():
        quota, created = Quota.objects.select_for_update().get_or_create(
            user=user, team=team, period_kind=period.kind, period_start=period.start,
            currency=currency, defaults={"amount": amount, "set_by": _user_or_none(actor)},
        )  # fmt: skip
        old = None if created else str(quota.amount)
        if not created and quota.amount != amount:
            quota.amount = amount
            quota.set_by = _user_or_none(actor)
            quota.version += 1
            quota.save()
        if created or old != str(quota.amount):
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                entity_kind="quota", entity_id=quota.pk, obj=quota,
                changes={"amount": [old, str(quota.amount)]},
            )  # fmt: skip
    return quota, created


def quota_delete(*, actor: Actor, quota: Quota) -> None:
    permissions.require(actor.user, "change", RecordKind.SALES_SETUP)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, entity_kind="quota",
                     entity_id=quota.pk, obj=quota, changes={"amount": [str(quota.amount), None]})  # fmt: skip
        quota.delete()


def _user_or_none(actor: Actor) -> User | None:
    return actor.user if getattr(actor.user, "pk", None) else None


def _reason(errors: Errors, value: Any) -> str:
    """Why the figure is adjusted: required text (control characters refused), at most
    500 characters."""
    from rapport.customers import normalize

    text = " ".join(str(value or "").split())
    if not text:
        errors["reason"] = ["Say why the figure is adjusted."]
    elif len(text) > 500:
        errors["reason"] = ["At most 500 characters."]
    else:
        try:
            normalize.check_text(text)
        except ValueError as exc:
            errors["reason"] = [str(exc)]
    return text


def adjustment_add(
    *, actor: Actor, data: dict[str, Any], at: dt.datetime | None = None
) -> ForecastAdjustment:
    """A manager's figure for a rep's forecast of a period, with the reason: kept beside
    the rep's own figures (which it never changes). Needs the right to change the sales
    setup and sight of the rep's deals."""
    permissions.require(actor.user, "change", RecordKind.SALES_SETUP)
    permissions.require(actor.user, "view", RecordKind.DEAL)
    errors: Errors = {}
    user = _rep(errors, data.get("user"))
    visible = permissions.visible_owner_ids(actor.user, RecordKind.DEAL)
    if user is not None and visible is not None and user.pk not in visible:
        raise NotFound("No such user.")
    period = _period(errors, data.get("period"))
    amount, currency = _money(errors, data)
    reason = _reason(errors, data.get("reason"))
    if errors or period is None or user is None:
        raise ValidationFailed("The adjustment has invalid values.", errors=errors)
    assert currency is not None  # clean_currency gave an error otherwise
    with transaction.atomic():
        row = ForecastAdjustment.objects.create(
            user=user, period_kind=period.kind, period_start=period.start, currency=currency,
            amount=amount, reason=reason, by=_user_or_none(actor), at=at or timezone.now(),
        )  # fmt: skip
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="forecastadjustment",
                     entity_id=row.pk, obj=row, changes={"amount": [None, str(amount)], "reason": [None, reason]})  # fmt: skip
    return row


# --- weekly snapshots ---------------------------------------------------------------------


def snapshot_take(*, week: dt.date, now: dt.datetime | None = None) -> int:
    """Store each rep's forecast of the week's quarter, as it stood when the week began
    (rebuilt from the stage history for a past week) or as it stands now (this week):
    one row per week, rep, quarter and currency. Running it again adds nothing: the first
    taking of a week stands. Returns the rows written."""
    from rapport.sales import selectors
    from rapport.sales.forecasting import history

    now = now or timezone.now()
    week = week_of(week)
    monday = timezone.make_aware(dt.datetime.combine(week, dt.time.min))
    quarter = quarter_of(week)
    if monday > now:
        raise ValidationFailed("That week has not begun.", errors={"week": ["In the future."]})
    this_week = week == week_of(timezone.localtime(now).date())
    if this_week:
        rows = selectors.forecast(actor=None, first=quarter.start, after=quarter.after)
    else:
        rows = history.forecast_as_of(
            actor=None, as_of=monday, first=quarter.start, after=quarter.after
        )
    snaps = [
        ForecastSnapshot(
            week=week,
            user_id=r.user_id,
            team_id=r.team_id,
            period_start=quarter.start,
            currency=r.currency,
            open_deals=r.open_deals,
            pipeline=r.pipeline,
            best_case=r.best_case,
            commit=r.commit,
            weighted=r.weighted,
            closed=r.closed,
            taken_at=now if this_week else monday,
        )  # fmt: skip
        for r in rows
        if r.level == "rep" and r.user_id is not None
    ]
    with transaction.atomic():
        before = ForecastSnapshot.objects.filter(week=week).count()
        ForecastSnapshot.objects.bulk_create(snaps, ignore_conflicts=True)
        written = ForecastSnapshot.objects.filter(week=week).count() - before
        ForecastSnapshotWeek.objects.update_or_create(
            week=week, defaults={"done_at": now, "rows": before + written},
            create_defaults={"queued_at": now, "done_at": now, "rows": before + written},
        )  # fmt: skip
    return written


def snapshots_enqueue_due(*, now: dt.datetime | None = None) -> list[dt.date]:
    """Queue this week's snapshot task once (the worker's watchdog calls it every
    minute): the week's row is made first, so two watchdogs never queue it twice. A run
    queued over an hour ago and still not done is queued again."""
    from rapport.core.transactions import enqueue_after_commit
    from rapport.sales.forecasting import tasks

    now = now or timezone.now()
    week = week_of(timezone.localtime(now).date())
    with transaction.atomic():
        row, created = ForecastSnapshotWeek.objects.select_for_update().get_or_create(
            week=week, defaults={"queued_at": now}
        )
        stale = row.done_at is None and row.queued_at < now - dt.timedelta(hours=1)
        if not (created or stale):
            return []
        if stale:
            row.queued_at = now
            row.save(update_fields=["queued_at"])
        enqueue_after_commit(tasks.forecast_snapshot_task, week.isoformat())
    return [week]
