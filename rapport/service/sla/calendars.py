"""Service calendars: what the clock reads of them, their public holidays, the import of
company days from iCalendar, and the writes (each recomputes the deadlines of the open
cases the calendar counts for, in bulk: ``targets.targets_recompute_calendar``).

The clock of a calendar is kept per process, keyed by the calendar's ``version``, which
every change bumps; another process sees the new version on its next read.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import lru_cache
from typing import Any

import holidays
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record
from rapport.core.actor import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.service.models import CalendarDay, ServiceCalendar, ServiceTeam, WorkingPeriod
from rapport.service.sla.clock import BusinessClock, CalendarSpec
from rapport.users import permissions
from rapport.users.models import RecordKind, Team

SETUP = RecordKind.SERVICE_SETUP
HOLIDAY_YEARS_BACK, HOLIDAY_YEARS_AHEAD = 3, 8
MAX_ICS_BYTES = 1_000_000
MAX_ICS_DAYS = 2_000
MAX_PERIODS = 7 * 6
TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Errors = dict[str, list[str]]


# --- what the clock reads -----------------------------------------------------------------


@lru_cache(maxsize=64)
def public_holidays(
    country: str, subdivision: str, first_year: int, last_year: int
) -> frozenset[dt.date]:
    if not country:
        return frozenset()
    found = holidays.country_holidays(
        country, subdiv=subdivision or None, years=range(first_year, last_year + 1)
    )
    return frozenset(found.keys())


def spec_of_calendar(calendar: ServiceCalendar, *, today: dt.date | None = None) -> CalendarSpec:
    year = (today or timezone.now().date()).year
    periods = tuple(
        WorkingPeriod.objects.filter(calendar=calendar)
        .order_by("weekday", "start_minute")
        .values_list("weekday", "start_minute", "end_minute")
    )
    own = set(CalendarDay.objects.filter(calendar=calendar).values_list("date", flat=True))
    public = public_holidays(
        calendar.country,
        calendar.subdivision,
        year - HOLIDAY_YEARS_BACK,
        year + HOLIDAY_YEARS_AHEAD,
    )
    return CalendarSpec(
        time_zone=calendar.time_zone, periods=periods, closed=frozenset(own | public)
    )


_CLOCKS: dict[int, tuple[int, BusinessClock]] = {}


def clock_of(calendar: ServiceCalendar) -> BusinessClock:
    """The calendar's clock at its current version (one per process per version)."""
    cached = _CLOCKS.get(calendar.pk)
    if cached is not None and cached[0] == calendar.version:
        return cached[1]
    clock = BusinessClock(spec_of_calendar(calendar))
    if len(_CLOCKS) > 200:
        _CLOCKS.clear()
    _CLOCKS[calendar.pk] = (calendar.version, clock)
    return clock


def calendar_for_team(team_id: int | None) -> ServiceCalendar | None:
    """The team's calendar, else the default one; None when there is neither (no goals)."""
    if team_id is not None:
        found = ServiceCalendar.objects.filter(teams__team_id=team_id).order_by("id").first()
        if found is not None:
            return found
    return ServiceCalendar.objects.filter(is_default=True).first()


# --- validation -----------------------------------------------------------------------------


def parse_minute(value: Any) -> int:
    """ "09:30" -> 570; "24:00" is the end of the day."""
    if isinstance(value, int) and 0 <= value <= 1440:
        return value
    found = TIME_RE.match(str(value or "").strip())
    if not found:
        raise ValueError("Give a time as HH:MM (00:00 to 24:00).")
    minute = int(found.group(1)) * 60 + int(found.group(2))
    if minute > 1440:
        raise ValueError("Give a time as HH:MM (00:00 to 24:00).")
    return minute


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _periods(errors: Errors, value: Any) -> list[tuple[int, int, int]]:
    """Periods as [{"weekday": 0-6 or "monday", "start": "09:00", "end": "12:00"}, ...];
    periods of one day must not overlap."""
    if not isinstance(value, list) or len(value) > MAX_PERIODS:
        errors["periods"] = [f"Give a list of at most {MAX_PERIODS} periods."]
        return []
    out: list[tuple[int, int, int]] = []
    for n, item in enumerate(value):
        where = f"periods[{n}]"
        try:
            raw_day = item["weekday"]
            day = WEEKDAYS.index(raw_day.lower()) if isinstance(raw_day, str) else int(raw_day)
            if not 0 <= day <= 6:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            errors.setdefault(where, []).append("weekday: 0 (Monday) to 6, or the day's name.")
            continue
        try:
            start, end = parse_minute(item.get("start")), parse_minute(item.get("end"))
        except ValueError as exc:
            errors.setdefault(where, []).append(str(exc))
            continue
        if start >= end:
            errors.setdefault(where, []).append("A period ends after it starts.")
            continue
        out.append((day, start, end))
    out.sort()
    for (d1, _s1, e1), (d2, s2, _e2) in zip(out, out[1:], strict=False):
        if d1 == d2 and s2 < e1:
            errors.setdefault("periods", []).append(f"Periods overlap on {WEEKDAYS[d1]}.")
    return out


def _clean(errors: Errors, data: dict[str, Any], current: ServiceCalendar | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unknown = set(data) - {
        "name",
        "time_zone",
        "country",
        "subdivision",
        "is_default",
        "periods",
        "teams",
    }
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    if current is None or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 100:
            errors["name"] = ["Give a name of at most 100 characters."]
        elif (
            ServiceCalendar.objects.filter(name=name)
            .exclude(pk=current.pk if current is not None else 0)
            .exists()
        ):
            errors["name"] = ["A calendar with this name exists."]
        out["name"] = name
    if current is None or "time_zone" in data:
        tz = str(data.get("time_zone") or "UTC").strip()
        if tz not in zoneinfo.available_timezones():
            errors["time_zone"] = ["Not a time zone (e.g. Europe/Berlin)."]
        out["time_zone"] = tz
    if "country" in data or "subdivision" in data:
        country = str(data.get("country", getattr(current, "country", "")) or "").strip().upper()
        subdivision = str(
            data.get("subdivision", getattr(current, "subdivision", "")) or ""
        ).strip()
        if country:
            try:
                holidays.country_holidays(country, subdiv=subdivision or None, years=2026)
            except NotImplementedError:
                errors["country"] = ["No public holidays known for this country."]
            except Exception:  # noqa: BLE001 - the package raises its own kinds for a bad region
                errors["subdivision"] = ["Not a region of this country."]
        out["country"], out["subdivision"] = country, subdivision[:10]
    if "is_default" in data:
        out["is_default"] = bool(data["is_default"])
    if "periods" in data:
        out["periods"] = _periods(errors, data["periods"])
    if "teams" in data:
        ids = data["teams"] if isinstance(data["teams"], list) else None
        if ids is None or not all(isinstance(i, int) for i in ids):
            errors["teams"] = ["Give a list of team ids."]
        elif Team.objects.filter(pk__in=ids).count() != len(set(ids)):
            errors["teams"] = ["No such team."]
        out["teams"] = ids or []
    return out


# --- writes ---------------------------------------------------------------------------------


def _changed(*, actor: Actor, calendar: ServiceCalendar, changes: dict[str, Any]) -> None:
    """After any change: bump the version, recompute the open cases' deadlines (time used
    so far stays as counted with the calendar as it was), audit."""
    from rapport.service.sla import targets

    old_clock = clock_of(calendar)
    ServiceCalendar.objects.filter(pk=calendar.pk).update(version=F("version") + 1)
    calendar.refresh_from_db()
    changes["recomputed"] = [
        None,
        targets.targets_recompute_calendar(calendar=calendar, old_clock=old_clock),
    ]
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="servicecalendar",
        entity_id=calendar.pk, obj=calendar, changes=changes,
    )  # fmt: skip


def _apply(calendar: ServiceCalendar, cleaned: dict[str, Any]) -> None:
    periods = cleaned.pop("periods", None)
    teams = cleaned.pop("teams", None)
    if cleaned.get("is_default"):
        ServiceCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(
            is_default=False
        )
    for name, value in cleaned.items():
        setattr(calendar, name, value)
    calendar.save()
    if periods is not None:
        WorkingPeriod.objects.filter(calendar=calendar).delete()
        WorkingPeriod.objects.bulk_create(
            WorkingPeriod(calendar=calendar, weekday=d, start_minute=s, end_minute=e)
            for d, s, e in periods
        )
    if teams is not None:
        ServiceTeam.objects.filter(calendar=calendar).exclude(team_id__in=teams).update(
            calendar=None
        )
        for team_id in teams:
            ServiceTeam.objects.update_or_create(team_id=team_id, defaults={"calendar": calendar})


def calendar_create(*, actor: Actor, data: dict[str, Any]) -> ServiceCalendar:
    """A calendar with its periods (and the teams it counts for)."""
    permissions.require(actor.user, "add", SETUP)
    errors: Errors = {}
    cleaned = _clean(errors, data, None)
    if errors:
        raise ValidationFailed("The calendar has problems.", errors=errors)
    with transaction.atomic():
        calendar = ServiceCalendar()
        _apply(calendar, cleaned)
        _changed(actor=actor, calendar=calendar, changes={"name": [None, calendar.name]})
    return calendar


def calendar_update(
    *, actor: Actor, calendar: ServiceCalendar, data: dict[str, Any]
) -> ServiceCalendar:
    """Change a calendar; the open cases it counts for get new deadlines at once."""
    permissions.require(actor.user, "change", SETUP)
    errors: Errors = {}
    cleaned = _clean(errors, data, calendar)
    if errors:
        raise ValidationFailed("The calendar has problems.", errors=errors)
    with transaction.atomic():
        locked = ServiceCalendar.objects.select_for_update().get(pk=calendar.pk)
        _apply(locked, dict(cleaned))
        _changed(
            actor=actor,
            calendar=locked,
            changes={k: [None, str(v)[:200]] for k, v in cleaned.items()},
        )
    return locked


def calendar_delete(*, actor: Actor, calendar: ServiceCalendar) -> None:
    """Delete a calendar; the cases it counted for keep their deadlines as they were."""
    permissions.require(actor.user, "delete", SETUP)
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditEntry.Action.DELETE, entity_kind="servicecalendar",
            entity_id=calendar.pk, obj=calendar, changes={"name": [calendar.name, None]},
        )  # fmt: skip
        calendar.delete()


def _date(errors: Errors, value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        errors["date"] = ["Give a date as YYYY-MM-DD."]
        return None


def calendar_days_add(
    *,
    actor: Actor,
    calendar: ServiceCalendar,
    days: list[dict[str, Any]],
    source: str = CalendarDay.Source.MANUAL,
) -> int:
    """Company days off ({date, name}); a date already there is renamed. Open cases
    recompute; returns the number of days added or renamed."""
    permissions.require(actor.user, "change", SETUP)
    errors: Errors = {}
    clean: dict[dt.date, str] = {}
    if len(days) > MAX_ICS_DAYS:
        errors["days"] = [f"At most {MAX_ICS_DAYS:,} days at once."]
    for item in days[:MAX_ICS_DAYS]:
        date = _date(errors, item.get("date"))
        if date is not None:
            clean[date] = str(item.get("name") or "")[:200]
    if errors:
        raise ValidationFailed("The days have problems.", errors=errors)
    with transaction.atomic():
        locked = ServiceCalendar.objects.select_for_update().get(pk=calendar.pk)
        for date, name in clean.items():
            CalendarDay.objects.update_or_create(
                calendar=locked, date=date, defaults={"name": name, "source": source}
            )
        _changed(actor=actor, calendar=locked, changes={"days": [None, len(clean)]})
    return len(clean)


def calendar_day_remove(*, actor: Actor, calendar: ServiceCalendar, date: Any) -> None:
    permissions.require(actor.user, "change", SETUP)
    errors: Errors = {}
    day = _date(errors, date)
    if errors or day is None:
        raise ValidationFailed("The day has problems.", errors=errors)
    with transaction.atomic():
        locked = ServiceCalendar.objects.select_for_update().get(pk=calendar.pk)
        deleted, _ = CalendarDay.objects.filter(calendar=locked, date=day).delete()
        if not deleted:
            raise NotFound("No such day in this calendar.")
        _changed(actor=actor, calendar=locked, changes={"day": [str(day), None]})


def days_from_ics(raw: bytes, *, time_zone: str) -> list[dict[str, Any]]:
    """The days an iCalendar file blocks: each VEVENT's dates (all-day events end the day
    before DTEND; timed ones block the local dates they touch), yearly and other rules
    expanded over the holiday window. Bounded: the file's size and the number of days."""
    import icalendar
    from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # no stubs pinned

    if len(raw) > MAX_ICS_BYTES:
        raise ValidationFailed(
            "The file is too large.", errors={"file": [f"At most {MAX_ICS_BYTES:,} bytes."]}
        )
    try:
        parsed = icalendar.Calendar.from_ical(raw)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise ValidationFailed(
            "Not an iCalendar file.", errors={"file": [f"Not an iCalendar file: {exc}"[:200]]}
        ) from exc
    tz = zoneinfo.ZoneInfo(time_zone)
    year = timezone.now().year
    first, last = (
        dt.date(year - HOLIDAY_YEARS_BACK, 1, 1),
        dt.date(year + HOLIDAY_YEARS_AHEAD, 12, 31),
    )
    out: dict[dt.date, str] = {}

    def local_date(value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(tz).date()
        return value

    for event in parsed.walk("VEVENT"):
        if len(out) > MAX_ICS_DAYS:
            raise ValidationFailed(
                "Too many days.", errors={"file": [f"At most {MAX_ICS_DAYS:,} days."]}
            )
        start_prop = event.get("DTSTART")
        if start_prop is None:
            continue
        start = start_prop.dt
        end_prop = event.get("DTEND")
        end = end_prop.dt if end_prop is not None else None
        name = str(event.get("SUMMARY") or "")[:200]
        length = 1
        if end is not None:
            if isinstance(start, dt.datetime):
                length = max(
                    1, (local_date(end - dt.timedelta(seconds=1)) - local_date(start)).days + 1
                )
            else:
                length = max(1, (end - start).days)
        length = min(length, 366)
        starts = [start]
        rule = event.get("RRULE")
        if rule is not None:
            dtstart = (
                start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
            )
            try:
                expanded = rrulestr(rule.to_ical().decode(), dtstart=dtstart.replace(tzinfo=None))
            except (ValueError, TypeError) as exc:
                raise ValidationFailed(
                    "A repeat rule is wrong.", errors={"file": [f"RRULE: {exc}"[:200]]}
                ) from exc
            starts = []
            for occurrence in expanded:
                if occurrence.date() > last or len(starts) >= MAX_ICS_DAYS:
                    break
                starts.append(occurrence if isinstance(start, dt.datetime) else occurrence.date())
        for s in starts:
            day0 = local_date(s)
            for k in range(length):
                day = day0 + dt.timedelta(days=k)
                if first <= day <= last:
                    out.setdefault(day, name)
    if len(out) > MAX_ICS_DAYS:
        raise ValidationFailed(
            "Too many days.", errors={"file": [f"At most {MAX_ICS_DAYS:,} days."]}
        )
    return [{"date": d, "name": n} for d, n in sorted(out.items())]


def calendar_import_ics(*, actor: Actor, calendar: ServiceCalendar, raw: bytes) -> int:
    """Company days from an iCalendar file (an export of the company's holiday calendar)."""
    permissions.require(actor.user, "change", SETUP)
    days = days_from_ics(raw, time_zone=calendar.time_zone)
    return calendar_days_add(
        actor=actor, calendar=calendar, days=days, source=CalendarDay.Source.ICAL
    )
