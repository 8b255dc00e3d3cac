"""REST endpoints: proposals (wired into rapport.api_urls). What e-mail suggests about
customers (new facts from signatures, new contacts for unknown senders), the steward's
decisions and the admins' capture rules. The same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import pydantic
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.core.errors import ValidationFailed
from rapport.ingest.models import CaptureSettings, FactAction, FactField, Proposal
from rapport.ingest.proposals import selectors, services

router = Router(tags=["proposals"])

MAX_PAGE_SIZE = 200

if TYPE_CHECKING:
    StateT: TypeAlias = str
    KindT: TypeAlias = str
    FieldT: TypeAlias = str
    ActionT: TypeAlias = str
else:
    StateT = Literal[tuple(Proposal.State.values)]
    KindT = Literal[tuple(Proposal.Kind.values)]
    FieldT = Literal[tuple(FactField.values)]
    ActionT = Literal[tuple(FactAction.values)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class ProposalQuery(Schema):
    state: StateT | Literal[""] = Field("pending", description="'' for every state")
    kind: KindT | None = None
    field: FieldT | None = None
    contact: int | None = Field(None, description="Only this contact's proposals")
    cursor: str | None = None
    size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ProposalOut(Schema):
    id: int
    kind: str = Field(description="new_contact or fact")
    state: str = Field(description="pending, applied (by a rule), accepted, rejected, obsolete")
    field: str = Field(description="For a fact: phone, mobile, title, company, address, website")
    contact_id: int | None
    account_id: int | None = Field(description="For a new contact: the account proposed")
    value: dict[str, Any] = Field(description="What is proposed (or what was applied)")
    current: str = Field(description="What the contact's record says now, in words")
    proposed: str = Field(description="The proposal in words")
    evidence: dict[str, Any] = Field(
        description="Where it was read: entry, message_id, subject, sent_at, line, signature; "
        "for a new contact also duplicates (likely existing contacts)"
    )
    sightings: int
    rule: str
    entry_id: int | None
    decided_by: str | None
    decided_at: dt.datetime | None
    result: dict[str, Any]
    version: int
    created_at: dt.datetime


class ProposalPage(Schema):
    items: list[ProposalOut]
    next_cursor: str | None


class AcceptIn(In):
    value: dict[str, Any] | None = Field(
        None,
        description='The value as edited, only the parts that change: {"title": "CFO"}; '
        "for a new contact given_name, family_name, job_title, account, phones, address, or "
        "contact (the id of an existing contact the sender is)",
    )
    version: int | None = Field(None, description="The version you saw (or send If-Match)")


class RejectIn(In):
    version: int | None = Field(None, description="The version you saw (or send If-Match)")


class ProposalSettingsOut(Schema):
    version: int
    rules: dict[str, str] = Field(description="{field: auto | review | ignore}")
    unknown_senders: bool
    updated_at: dt.datetime | None


class SettingsIn(In):
    rules: dict[FieldT, ActionT] | None = None
    unknown_senders: bool | None = None


# Evidence keys a client gets: the kept copies of unknown senders' messages stay inside.
_EVIDENCE_OUT = ("source", "entry", "message_id", "subject", "sent_at", "from", "from_name",
                 "line", "signature", "seen", "forwarded_by", "account_how", "duplicates")  # fmt: skip


def _out(row: selectors.Row) -> dict[str, Any]:
    p = row.proposal
    evidence = {k: v for k, v in (p.evidence or {}).items() if k in _EVIDENCE_OUT}
    if p.kind == Proposal.Kind.NEW_CONTACT:
        evidence["messages"] = [
            {k: m.get(k) for k in ("message_id", "subject", "sent_at")}
            for m in (p.evidence or {}).get("messages") or []
        ]
    return {
        "id": p.pk,
        "kind": p.kind,
        "state": p.state,
        "field": p.field,
        "contact_id": p.contact_id,
        "account_id": p.account_id,
        "value": p.value,
        "current": row.current,
        "proposed": row.proposed,
        "evidence": evidence,
        "sightings": p.sightings,
        "rule": p.rule,
        "entry_id": p.entry_id,
        "decided_by": p.decided_by.username if p.decided_by else None,
        "decided_at": p.decided_at,
        "result": p.result,
        "version": p.version,
        "created_at": p.created_at,
    }


def _one(request: HttpRequest, proposal_id: int, response: HttpResponse) -> dict[str, Any]:
    proposal = selectors.proposal_get(actor=user_of(request), pk=proposal_id)
    set_etag(response, proposal.version)
    return _out(selectors.rows([proposal])[0])


@router.get(
    "/proposals",
    response={200: ProposalPage, **problems(403)},
    url_name="proposal-list",
)
def proposal_list(request: HttpRequest, query: Query[ProposalQuery]):
    """Proposed updates, newest first; the waiting ones unless `state` says otherwise.
    Follow `next_cursor` until it is null."""
    q = query.model_dump()
    page = selectors.proposal_list(
        actor=user_of(request),
        state=q["state"],
        kind=q["kind"] or "",
        field=q["field"] or "",
        contact=q["contact"],
        cursor=q["cursor"],
        size=q["size"],
    )
    return {"items": [_out(r) for r in selectors.rows(page.items)], "next_cursor": page.next_cursor}


@router.get(
    "/proposals/{proposal_id}",
    response={200: ProposalOut, **problems(403, 404)},
    url_name="proposal-detail",
)
def proposal_read(request: HttpRequest, proposal_id: int, response: HttpResponse):
    """One proposal with its evidence; the ETag is its version."""
    return _one(request, proposal_id, response)


def _body(request: HttpRequest, schema: type[In]) -> Any:
    """The optional JSON body of a decision: none at all is as good as ``{}``."""
    raw = request.body.strip()
    if not raw or request.content_type != "application/json":
        return schema()
    try:
        return schema.model_validate(json.loads(raw))
    except (ValueError, pydantic.ValidationError) as exc:
        errors: dict[str, list[str]] = {}
        if isinstance(exc, pydantic.ValidationError):
            for e in exc.errors():
                errors.setdefault(".".join(map(str, e["loc"])) or "body", []).append(e["msg"])
        raise ValidationFailed(
            "The body is not valid.", errors=errors or {"body": [str(exc)]}
        ) from None


def _optional(schema: type[In]) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": schema.model_json_schema()}}}
    return {"requestBody": {**body, "required": False}}


def _version(request: HttpRequest, body_version: int | None) -> int | None:
    header = expected_version(request)
    return header if header is not None else body_version


@router.post(
    "/proposals/{proposal_id}/accept",
    response={200: ProposalOut, **problems(403, 404, 409, 412)},
    url_name="proposal-accept",
    openapi_extra=_optional(AcceptIn),
)
def proposal_accept(request: HttpRequest, proposal_id: int, response: HttpResponse):
    """Apply it, as proposed or with your edits in `value` (stewards and admins). 412 when
    the proposal changed since you read it (If-Match or `version`), 409 when it was
    already decided; `state` is `obsolete` when the record had the fact by now."""
    user = user_of(request)
    proposal = selectors.proposal_get(actor=user, pk=proposal_id)
    body = _body(request, AcceptIn)
    services.proposal_accept(
        actor=actor_of(request),
        proposal=proposal,
        value=body.value,
        expected_version=_version(request, body.version),
    )
    return _one(request, proposal_id, response)


@router.post(
    "/proposals/{proposal_id}/reject",
    response={200: ProposalOut, **problems(403, 404, 409, 412)},
    url_name="proposal-reject",
    openapi_extra=_optional(RejectIn),
)
def proposal_reject(request: HttpRequest, proposal_id: int, response: HttpResponse):
    """Say no: nothing changes, and the same suggestion is not proposed again."""
    user = user_of(request)
    proposal = selectors.proposal_get(actor=user, pk=proposal_id)
    body = _body(request, RejectIn)
    services.proposal_reject(
        actor=actor_of(request),
        proposal=proposal,
        expected_version=_version(request, body.version),
    )
    return _one(request, proposal_id, response)


def _settings(conf: CaptureSettings) -> dict[str, Any]:
    return {
        "version": conf.version,
        "rules": {f: services.rule_for(conf, f) for f in FactField.values},
        "unknown_senders": conf.unknown_senders,
        "updated_at": conf.updated_at,
    }


@router.get(
    "/capture-settings",
    response={200: ProposalSettingsOut, **problems(403)},
    url_name="capture-settings",
)
def capture_settings_read(request: HttpRequest, response: HttpResponse):
    """What happens to each kind of fact found in a contact's own message, and whether
    unknown senders are proposed as contacts (admins)."""
    user = user_of(request)
    conf = selectors.capture_settings_read(actor=user)
    services.require_admin(user)
    set_etag(response, conf.version)
    return _settings(conf)


@router.put(
    "/capture-settings",
    response={200: ProposalSettingsOut, **problems(403, 412)},
    url_name="capture-settings-update",
)
def capture_settings_update(request: HttpRequest, payload: SettingsIn, response: HttpResponse):
    """Change the rules you send (admins); fields you leave out keep theirs. Send
    `If-Match` with the ETag you read."""
    conf = services.capture_settings_update(
        actor=actor_of(request),
        rules=payload.rules,
        unknown_senders=payload.unknown_senders,
        expected_version=expected_version(request),
    )
    set_etag(response, conf.version)
    return _settings(conf)
