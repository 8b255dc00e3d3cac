"""Writing surveys: defining them, inviting people (after a touchpoint or by hand), and
recording a person's answer.

The rules, in one place for the touchpoint listener, the API, marketing's segments and the
demo:

- **Who is invited.** A contact is invited only if the consent gate's rule allows purpose
  ``surveys`` by e-mail to their primary address now (``consent_allows``), and the survey's
  cap allows it (at most ``cap_count`` invitations in ``cap_days``, of this survey or of
  any). Otherwise the invitation row is kept as ``skipped`` with the reason. The gate
  checks consent again when the message goes.
- **At most once.** One invitation per survey and touchpoint object (a case, a deal, a
  meeting), by a unique constraint, decided under a lock on the contact (the cap's count
  and the insert are one step); a campaign's invitations are one per person.
- **One answer.** An invitation takes one answer; a second submit changes nothing (the
  page says it was answered). An expired invitation takes none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record, diff, snapshot
from rapport.consent.check import consent_allows
from rapport.consent.models import Channel, Purpose
from rapport.consent.sending import OutboundEmail, send_queue, send_queue_many
from rapport.core.actor import Actor
from rapport.core.errors import NotFound, RapportError, ValidationFailed
from rapport.customers.models import Contact, ContactEmail
from rapport.customers.normalize import strip_controls
from rapport.surveys import events
from rapport.surveys.models import (
    Answer,
    Department,
    Invitation,
    Question,
    Survey,
    SurveyResponse,
    Trigger,
)
from rapport.users import permissions
from rapport.users.models import RecordKind

PURPOSE = "surveys"
RELATED_KIND = "survey_invitation"
LINK_SALT = "rapport.surveys.answer"
TEXT_LIMIT = 5000
CHUNK = 500
KIND = RecordKind.SURVEY
SURVEY_FIELDS = [
    "name", "intro", "trigger", "department", "active", "cap_count", "cap_days", "cap_scope",
    "valid_days", "subject", "message",
]  # fmt: skip


SHORT: dict[str, str] = {
    Question.Kind.CSAT: "CSAT", Question.Kind.NPS: "NPS", Question.Kind.RATING: "Rating"
}  # fmt: skip


class SurveyClosed(RapportError):
    """The invitation's time to answer is over."""

    status = 410
    title = "This survey has closed"


# --- Defining surveys -----------------------------------------------------------------


def _clean_questions(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors["questions"] = ["A survey needs at least one question."]
        return []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"questions[{i}]"
        if not isinstance(item, Mapping):
            errors[where] = ["Expected an object with kind and text."]
            continue
        kind = str(item.get("kind", ""))
        text = strip_controls(str(item.get("text", ""))).strip()
        if kind not in Question.Kind.values:
            errors[f"{where}.kind"] = [f"One of {', '.join(Question.Kind.values)}."]
        if not text:
            errors[f"{where}.text"] = ["Say what the question asks."]
        elif len(text) > 500:
            errors[f"{where}.text"] = ["At most 500 characters."]
        choices = item.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            errors[f"{where}.choices"] = ["A list of texts."]
            choices = []
        choices = [c.strip()[:200] for c in choices if c.strip()]
        if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            if len(choices) < 2:
                errors[f"{where}.choices"] = ["A choice question needs at least two choices."]
            elif len(set(choices)) != len(choices):
                errors[f"{where}.choices"] = ["Each choice once."]
        elif choices:
            errors[f"{where}.choices"] = ["Only choice questions have choices."]
        out.append(
            {"kind": kind, "text": text, "required": bool(item.get("required", False)),
             "choices": choices, "order": i}
        )  # fmt: skip
    return out


def _clean_survey(data: Mapping[str, Any], *, survey: Survey | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name in SURVEY_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in ("name", "subject"):
            value = strip_controls(str(value or "")).strip()
            if not value:
                errors[name] = ["This cannot be empty."]
            elif len(value) > 200:
                errors[name] = ["At most 200 characters."]
        elif name in ("intro", "message"):
            value = strip_controls(str(value or ""))[:TEXT_LIMIT]
        elif name == "trigger" and value not in Trigger.values:
            errors[name] = [f"One of {', '.join(Trigger.values)}."]
        elif name == "department" and value not in Department.values:
            errors[name] = [f"One of {', '.join(Department.values)}."]
        elif name == "cap_scope" and value not in Survey.CapScope.values:
            errors[name] = [f"One of {', '.join(Survey.CapScope.values)}."]
        elif name in ("cap_count", "cap_days", "valid_days"):
            low = 0 if name == "cap_count" else 1
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 366:
                errors[name] = [f"A whole number from {low} to 366."]
        elif name == "active":
            value = bool(value)
        out[name] = value
    if survey is None and not out.get("name"):
        errors.setdefault("name", ["A survey needs a name."])
    if "questions" in data:
        out["questions"] = _clean_questions(data["questions"], errors)
    elif survey is None:
        errors["questions"] = ["A survey needs at least one question."]
    if errors:
        raise ValidationFailed("The survey has problems.", errors=errors)
    return out


def _questions_write(survey: Survey, questions: list[dict[str, Any]]) -> None:
    Question.objects.bulk_create([Question(survey=survey, **q) for q in questions])


def survey_create(*, actor: Actor, data: Mapping[str, Any]) -> Survey:
    """A survey and its questions; needs the add right on surveys."""
    permissions.require(actor.user, "add", KIND)
    clean = _clean_survey(data, survey=None)
    questions = clean.pop("questions")
    with transaction.atomic():
        survey = Survey.objects.create(
            **clean, created_by=actor.user if getattr(actor.user, "pk", None) else None
        )
        _questions_write(survey, questions)
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, entity_kind="survey",
            entity_id=survey.pk, obj=survey,
            changes={k: [None, v] for k, v in snapshot(survey, SURVEY_FIELDS).items()},
        )  # fmt: skip
    return survey


def survey_update(*, actor: Actor, survey: Survey, data: Mapping[str, Any]) -> Survey:
    """Change a survey. Its questions can be replaced only while nobody has answered it
    (answers point at the questions they answer)."""
    permissions.require(actor.user, "change", KIND)
    clean = _clean_survey(data, survey=survey)
    questions = clean.pop("questions", None)
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        before = snapshot(locked, SURVEY_FIELDS)
        if questions is not None:
            if SurveyResponse.objects.filter(survey=locked).exists():
                raise ValidationFailed(
                    "The survey has problems.",
                    errors={"questions": ["People have answered: make a new survey instead."]},
                )
            locked.questions.all().delete()
            _questions_write(locked, questions)
        for name, value in clean.items():
            setattr(locked, name, value)
        locked.save()
        changes = diff(before, snapshot(locked, SURVEY_FIELDS))
        if questions is not None:
            changes["questions"] = ["replaced", len(questions)]
        audit_record(
            actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="survey",
            entity_id=locked.pk, obj=locked, changes=changes,
        )  # fmt: skip
    return locked


# --- Inviting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Someone to invite, and the touchpoint it follows."""

    contact_id: int
    touchpoint: str = Trigger.MANUAL
    object_kind: str = ""
    object_id: int | None = None
    department: str = ""
    staff_id: int | None = None
    occurred_at: dt.datetime | None = None


@dataclass
class SendResult:
    """What a send decided: invitations made, and the people skipped, by reason."""

    invited: list[int] = field(default_factory=list)  # invitation ids
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    already: int = 0  # touchpoint objects that had their invitation already

    @property
    def invited_count(self) -> int:
        return len(self.invited)


def answer_link(invitation: Invitation) -> str:
    """The signed token in the answer page's address."""
    return signing.Signer(salt=LINK_SALT).sign(invitation.token or "")


def answer_url(invitation: Invitation) -> str:
    base = getattr(settings, "RAPPORT_PUBLIC_URL", "").rstrip("/") or "http://localhost:8000"
    return base + reverse("surveys:answer", args=[answer_link(invitation)])


def _object_phrase(kind: str, pk: int | None) -> str:
    """How the e-mail names what the survey follows ("your case C-000012, “Broken lamp”")."""
    if not pk:
        return ""
    if kind == "case":
        from rapport.service.models import Case, reference_of

        case = Case.objects.filter(pk=pk).only("subject").first()
        return f"your case {reference_of(pk)}, “{case.subject}”" if case else ""
    if kind == "deal":
        from rapport.sales.models import Deal

        deal = Deal.objects.filter(pk=pk).only("name").first()
        return f"“{deal.name}”" if deal else ""
    if kind == "task":
        from rapport.followups.models import Task

        task = Task.objects.filter(pk=pk).only("title").first()
        return f"our meeting “{task.title}”" if task else ""
    return ""


def _email_text(survey: Survey, invitation: Invitation, first_name: str, scale_q: Any) -> str:
    url = answer_url(invitation)
    phrase = _object_phrase(invitation.object_kind, invitation.object_id)
    lines = [f"Hello {first_name}," if first_name else "Hello,", ""]
    if survey.message:
        lines.append(survey.message.replace("{name}", first_name))
    elif phrase:
        lines.append(f"Thank you for your time. How did we do with {phrase}?")
    else:
        lines.append("We would like to know what you think. It takes a minute.")
    lines.append("")
    if scale_q is not None and scale_q.kind in (Question.Kind.CSAT, Question.Kind.RATING):
        lines.append(scale_q.text)
        for n, label in (
            (5, "Very good"),
            (4, "Good"),
            (3, "Neither"),
            (2, "Poor"),
            (1, "Very poor"),
        ):
            lines.append(f"  {n} ({label}): {url}?q{scale_q.pk}={n}")
        lines.append("")
    lines.append(f"Answer here, no login needed: {url}")
    if invitation.expires_at:
        lines.append(f"The link works until {invitation.expires_at.date().isoformat()}.")
    return "\n".join(lines)


def _skip(inv: Invitation, reason: str, detail: str) -> Invitation:
    inv.status = Invitation.Status.SKIPPED
    inv.skip_reason = reason
    inv.skip_detail = detail[:300]
    inv.token = None
    inv.expires_at = None
    return inv


def _decide(
    survey: Survey,
    targets: list[Target],
    *,
    at: dt.datetime,
    actor: Actor,
    result: SendResult,
) -> list[Invitation]:
    """Invitation rows (invited or skipped) for targets whose contacts are locked by the
    caller; targets already decided are counted in ``result.already`` and left out."""
    ids = sorted({t.contact_id for t in targets})
    emails = dict(
        ContactEmail.objects.filter(contact_id__in=ids, is_primary=True).values_list(
            "contact_id", "email"
        )
    )
    recent_q = Invitation.objects.filter(
        contact_id__in=ids,
        status=Invitation.Status.INVITED,
        sent_at__gt=at - dt.timedelta(days=survey.cap_days),
        sent_at__lte=at,
    )
    if survey.cap_scope == Survey.CapScope.SURVEY:
        recent_q = recent_q.filter(survey=survey)
    recent = dict(
        recent_q.values("contact_id").annotate(n=Count("id")).values_list("contact_id", "n")
    )
    objects = [(t.object_kind, t.object_id) for t in targets if t.object_id]
    taken: set[tuple[str, int | None, int | None]] = set()
    if objects:
        for kind, oid, cid in Invitation.objects.filter(
            survey=survey,
            object_kind__in={k for k, _ in objects},
            object_id__in={o for _, o in objects},
        ).values_list("object_kind", "object_id", "contact_id"):
            # A campaign is one object for many people; the rest are one per object.
            taken.add((kind, oid, cid if kind == "campaign" else None))
    open_manual = set(
        Invitation.objects.filter(
            survey=survey, contact_id__in=ids, status=Invitation.Status.INVITED,
            answered_at__isnull=True, expires_at__gt=at, object_id__isnull=True,
        ).values_list("contact_id", flat=True)
    )  # fmt: skip
    # The gate's own rule, given the purpose loaded once (one query fewer a person).
    purpose = Purpose.objects.filter(key=PURPOSE).first()
    rows: list[Invitation] = []
    seen: set[tuple[Any, ...]] = set()
    people: set[int] = set()
    for t in targets:
        key = (t.object_kind, t.object_id, t.contact_id if t.object_kind == "campaign" else None)
        if t.object_id and (key in taken or key in seen):
            result.already += 1
            continue
        if not t.object_id and t.contact_id in people:
            continue  # the same person twice in one list
        seen.add(key)
        people.add(t.contact_id)
        department = t.department if t.department in Department.values else survey.department
        inv = Invitation(
            survey=survey, contact_id=t.contact_id, touchpoint=t.touchpoint,
            object_kind=t.object_kind, object_id=t.object_id, department=department,
            staff_id=t.staff_id, occurred_at=min(t.occurred_at or at, at), sent_at=at,
            expires_at=at + dt.timedelta(days=survey.valid_days),
            sent_by=actor.user if getattr(actor.user, "pk", None) else None,
        )  # fmt: skip
        address = emails.get(t.contact_id, "")
        inv.to_address = address
        if not address:
            _skip(inv, Invitation.Skip.NO_ADDRESS, "The contact has no primary e-mail address.")
        elif not t.object_id and t.contact_id in open_manual:
            _skip(inv, Invitation.Skip.ALREADY, "An earlier invitation is still open.")
        else:
            decision = consent_allows(
                contact_id=t.contact_id, address=address, channel=Channel.EMAIL,
                purpose=purpose if purpose is not None else PURPOSE,
            )  # fmt: skip
            if not decision.allowed:
                _skip(inv, Invitation.Skip.CONSENT, decision.reason)
            elif survey.cap_count and recent.get(t.contact_id, 0) >= survey.cap_count:
                _skip(
                    inv, Invitation.Skip.CAP,
                    f"{recent[t.contact_id]} invitation(s) in the last {survey.cap_days} days "
                    f"(at most {survey.cap_count}).",
                )  # fmt: skip
            else:
                recent[t.contact_id] = recent.get(t.contact_id, 0) + 1
        if inv.status == Invitation.Status.SKIPPED:
            result.skipped[inv.skip_reason] = result.skipped.get(inv.skip_reason, 0) + 1
        rows.append(inv)
    return rows


def _messages(survey: Survey, rows: list[Invitation]) -> list[OutboundEmail]:
    invited = [r for r in rows if r.status == Invitation.Status.INVITED]
    names = dict(
        Contact.objects.filter(pk__in=[r.contact_id for r in invited]).values_list(
            "pk", "given_name"
        )
    )
    scale_q = next((q for q in survey.questions.all() if q.scale), None)
    return [
        OutboundEmail(
            contact_id=r.contact_id,
            to_address=r.to_address,
            purpose=PURPOSE,
            subject=survey.subject,
            text=_email_text(survey, r, names.get(r.contact_id, ""), scale_q),
            related_kind=RELATED_KIND,
            related_id=r.pk,
        )  # fmt: skip
        for r in invited
    ]


def _invite(
    survey: Survey, targets: list[Target], *, actor: Actor, at: dt.datetime, send: bool
) -> SendResult:
    result = SendResult()
    for start in range(0, len(targets), CHUNK):
        chunk = targets[start : start + CHUNK]
        with transaction.atomic():
            # The cap is counted and the rows written under a lock on each person: two
            # touchpoints of one person at once are decided one after the other.
            list(
                Contact.objects.select_for_update()
                .filter(pk__in={t.contact_id for t in chunk})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            rows = _decide(survey, chunk, at=at, actor=actor, result=result)
            if not rows:
                continue
            if len(rows) == 1:
                try:
                    with transaction.atomic():
                        rows[0].save()
                except IntegrityError:  # decided at once by another worker: theirs stands
                    result.already += 1
                    continue
            else:
                Invitation.objects.bulk_create(rows)
            invited = [r for r in rows if r.status == Invitation.Status.INVITED]
            result.invited += [r.pk for r in invited]
            if not send or not invited:
                continue
            messages = _messages(survey, rows)
            if len(messages) == 1:
                sent = send_queue(actor=actor, message=messages[0])
                Invitation.objects.filter(pk=invited[0].pk).update(message=sent)
            else:
                batch = send_queue_many(
                    actor=actor, name=f"Survey: {survey.name}"[:200], purpose=PURPOSE,
                    messages=messages,
                )  # fmt: skip
                by_invitation = dict(batch.messages.values_list("related_id", "pk"))
                for r in invited:
                    r.message_id = by_invitation.get(r.pk)
                Invitation.objects.bulk_update(invited, ["message"])
    return result


def touchpoint_invite(
    *,
    kind: str,
    contact_id: int | None,
    department: str,
    object_kind: str,
    object_id: int,
    staff_id: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> SendResult:
    """Invite the touchpoint's person to every active survey of that touchpoint kind (the
    touchpoint listener's task). Safe to run twice: the object's invitation is decided once."""
    result = SendResult()
    if contact_id is None or not Contact.objects.filter(pk=contact_id).exists():
        return result
    target = Target(
        contact_id=contact_id, touchpoint=kind, object_kind=object_kind, object_id=object_id,
        department=department, staff_id=staff_id, occurred_at=occurred_at,
    )  # fmt: skip
    system = Actor(user=None, via="system", context={"touchpoint": kind})
    for survey in Survey.objects.filter(trigger=kind, active=True).prefetch_related("questions"):
        one = _invite(survey, [target], actor=system, at=timezone.now(), send=True)
        result.invited += one.invited
        result.already += one.already
        for k, v in one.skipped.items():
            result.skipped[k] = result.skipped.get(k, 0) + v
    return result


def survey_send_to(
    *,
    actor: Actor,
    survey: Survey,
    contact_ids: Iterable[int],
    touchpoint: str = Trigger.MANUAL,
    object_kind: str = "",
    object_id: int | None = None,
) -> SendResult:
    """Invite a list of contacts (a marketing segment, a pasted list) to a survey. Needs the
    add right on surveys; a contact the actor may not see is skipped (``not_visible``), as
    is one without consent, over the cap, without an address, or with an open invitation
    to this survey already. One batch through the send gate."""
    permissions.require(actor.user, "add", KIND)
    if not survey.active:
        raise ValidationFailed("The survey is not active.", errors={"survey": ["Not active."]})
    if touchpoint not in Trigger.values:
        raise ValidationFailed("Unknown touchpoint.", errors={"touchpoint": [touchpoint]})
    wanted = list(dict.fromkeys(int(c) for c in contact_ids))
    visible = set(
        permissions.visible(actor.user, RecordKind.CONTACT, Contact.objects.filter(pk__in=wanted))
        .values_list("pk", flat=True)
    ) if wanted else set()  # fmt: skip
    targets = [
        Target(contact_id=c, touchpoint=touchpoint, object_kind=object_kind, object_id=object_id,
               department=survey.department)
        for c in wanted if c in visible
    ]  # fmt: skip
    result = _invite(survey, targets, actor=actor, at=timezone.now(), send=True)
    hidden = len(wanted) - len(targets)
    if hidden:
        result.skipped[Invitation.Skip.NOT_VISIBLE] = hidden
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="survey", entity_id=survey.pk,
        obj=survey, changes={"sent": [None, {"invited": result.invited_count, "skipped": result.skipped}]},
    )  # fmt: skip
    return result


def invite_at(
    *, survey: Survey, targets: list[Target], at: dt.datetime, send: bool = False
) -> SendResult:
    """Invitations decided as of ``at`` (the demo's past year); nothing is sent unless asked."""
    return _invite(survey, targets, actor=Actor(user=None, via="system"), at=at, send=send)


# --- Answering ------------------------------------------------------------------------


def invitation_from_link(link: str) -> Invitation:
    """The invitation a signed link names; NotFound for a forged, altered or dead link."""
    try:
        token = signing.Signer(salt=LINK_SALT).unsign(link)
    except signing.BadSignature:
        raise NotFound("This link is not valid. Check that it was copied whole.") from None
    found = (
        Invitation.objects.select_related("survey")
        .filter(token=token, status=Invitation.Status.INVITED)
        .first()
    )
    if found is None:
        raise NotFound("This survey link is no longer valid.")
    return found


def _parse(question: Question, raw: Any, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """One question's answer from the form's value(s); None when left empty."""
    name = f"q{question.pk}"
    values = [
        str(v) for v in (raw if isinstance(raw, list | tuple) else [raw]) if v not in (None, "")
    ]
    if not values:
        if question.required:
            errors[name] = ["Please answer this question."]
        return None
    if question.scale:
        low, high = question.scale
        try:
            number = int(values[0])
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors[name] = [f"Choose a number from {low} to {high}."]
            return None
        return {"number": number}
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        picked = [v for v in values if v in question.choices]
        if len(picked) != len(values) or (
            question.kind == Question.Kind.SINGLE and len(picked) > 1
        ):
            errors[name] = ["Choose from the list."]
            return None
        return {"choices": list(dict.fromkeys(picked))}
    text = strip_controls(values[0]).strip()
    if len(text) > TEXT_LIMIT:
        errors[name] = [f"At most {TEXT_LIMIT} characters."]
        return None
    return {"text": text} if text else None


def _describe(question: Question, value: dict[str, Any]) -> str:
    if "number" in value:
        low, high = question.scale or (0, 0)
        return f"{value['number']}/{high}"
    if "choices" in value:
        return ", ".join(value["choices"])
    return value["text"]


def response_submit(
    *, invitation: Invitation, values: Mapping[str, Any], at: dt.datetime | None = None
) -> tuple[SurveyResponse, bool]:
    """Record the person's answer; ``(response, True)`` the first time. Answered already:
    the first answer stands, ``(response, False)``. Expired: ``SurveyClosed``. Invalid
    values: ``ValidationFailed`` naming each question (``q<id>``), nothing written."""
    now = timezone.now()
    at = min(at or now, now)
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update().select_related("survey").get(pk=invitation.pk)
        )
        existing = SurveyResponse.objects.filter(invitation=locked).first()
        if existing is not None:
            return existing, False
        if locked.status != Invitation.Status.INVITED:
            raise NotFound("This survey link is no longer valid.")
        if locked.expires_at is not None and locked.expires_at <= at:
            raise SurveyClosed("This survey has closed.")
        questions = list(locked.survey.questions.all())
        errors: dict[str, list[str]] = {}
        parsed = [(q, _parse(q, values.get(f"q{q.pk}"), errors)) for q in questions]
        if errors:
            raise ValidationFailed("Some answers need another look.", errors=errors)
        given = [(q, v) for q, v in parsed if v is not None]
        if not given:
            raise ValidationFailed(
                "Answer at least one question.", errors={"general": ["Nothing was answered."]}
            )
        score = next((v["number"] for q, v in given if q.scale), None)
        comment = "\n\n".join(v["text"] for q, v in given if "text" in v)
        response = SurveyResponse.objects.create(
            invitation=locked, survey=locked.survey, contact_id=locked.contact_id,
            touchpoint=locked.touchpoint, object_kind=locked.object_kind,
            object_id=locked.object_id, department=locked.department, staff_id=locked.staff_id,
            submitted_at=at, score=score, comment=comment,
        )  # fmt: skip
        Answer.objects.bulk_create(
            [
                Answer(
                    response=response,
                    question=q,
                    number=v.get("number"),
                    choices=v.get("choices", []),
                    text=v.get("text", ""),
                )  # fmt: skip
                for q, v in given
            ]
        )
        locked.answered_at = at
        locked.save(update_fields=["answered_at"])
        headline = next(((q, v) for q, v in given if q.scale), None)
        summary = locked.survey.name
        if headline:
            summary += f": {SHORT[headline[0].kind]} {_describe(*headline)}"
        if comment:
            summary += f" · “{comment[:120]}”"
        body = "\n".join(f"{q.text}\n{_describe(q, v)}\n" for q, v in given)
        entry = events.answer_recorded(
            invitation=locked, summary=summary, body=body, score=score, account_ids=[], at=at
        )
        response.entry = entry
        response.save(update_fields=["entry"])
    return response, True
