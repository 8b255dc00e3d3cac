"""Sales endpoints of the REST API (mounted by rapport/api_urls.py): leads, deals, their
roles and stage history, pipelines and stages, and the public lead-form endpoint.

Amounts travel as decimal strings ("1200.50") with an ISO 4217 currency, never as JSON
numbers, so no float ever touches money. Changes take ``If-Match``; lists are paged with
``cursor`` and ``next_cursor``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.core.errors import NotFound
from rapport.sales import selectors, services
from rapport.sales.models import Deal, DealRole, Lead, Pipeline, Stage
from rapport.users import permissions
from rapport.users.models import RecordKind

router = Router(tags=["Sales"])

if TYPE_CHECKING:
    LeadStatusT: TypeAlias = str
    DealStatusT: TypeAlias = str
    ForecastT: TypeAlias = str
    RoleT: TypeAlias = str
    StageKindT: TypeAlias = str
else:
    LeadStatusT = Literal[tuple(Lead.Status.values)]
    DealStatusT = Literal[tuple(Deal.Status.values)]
    ForecastT = Literal[tuple(Deal.ForecastCategory.values)]
    RoleT = Literal[tuple(DealRole.Role.values)]
    StageKindT = Literal[tuple(Stage.Kind.values)]
AMOUNT = Field(None, description='A decimal string such as "1200.50" (never a JSON number)')


class In(Schema):
    model_config = ConfigDict(extra="forbid")


# --- schemas ----------------------------------------------------------------------------


class LeadFields(In):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 or a country name")
    source: str | None = None
    owner: int | None = Field(None, description="User id; only roles that may reassign")
    team: int | None = None
    follow_up_on: dt.date | None = None
    role: str | None = Field(None, description="The person's role in the decision, as said")
    need: str | None = None
    budget: str | None = None
    timing: str | None = None
    notes: str | None = None
    contact: int | None = Field(None, description="The existing contact, when known")
    account: int | None = None


class LeadOut(Schema):
    id: int
    version: int
    status: LeadStatusT
    name: str
    email: str
    phone: str
    company_name: str
    country: str
    source: str
    owner: int | None
    team: int | None
    score: int
    follow_up_on: dt.date | None
    role: str
    need: str
    budget: str
    timing: str
    notes: str
    disqualify_reason: str
    contact: int | None
    account: int | None
    converted_deal: int | None
    converted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class LeadQualify(In):
    role: str | None = None
    need: str | None = None
    budget: str | None = None
    timing: str | None = None
    follow_up_on: dt.date | None = None


class LeadDisqualify(In):
    reason: str


class LeadConvert(In):
    name: str | None = Field(None, description="The deal's name")
    amount: str | None = AMOUNT
    currency: str | None = None
    expected_close: dt.date | None = None
    contact_role: RoleT = "decision_maker"


class LeadConverted(Schema):
    lead: LeadOut
    deal: DealOut


class DealFields(In):
    name: str | None = None
    primary_contact: int | None = None
    amount: str | None = AMOUNT
    currency: str | None = Field(None, description="ISO 4217; the pipeline's by default")
    expected_close: dt.date | None = None
    owner: int | None = Field(None, description="User id; only roles that may reassign")
    team: int | None = None
    source: str | None = None
    forecast_category: ForecastT | None = None
    description: str | None = None


class DealCreate(DealFields):
    name: str  # type: ignore[assignment]
    account: int
    pipeline: int | None = Field(None, description="The default pipeline if not given")
    stage: int | None = Field(None, description="The pipeline's first open stage if not given")


class DealOut(Schema):
    id: int
    version: int
    name: str
    account: int
    primary_contact: int | None
    amount: str
    currency: str
    expected_close: dt.date | None
    owner: int | None
    team: int | None
    source: str
    pipeline: int
    stage: int
    status: DealStatusT
    probability: str
    forecast_category: ForecastT
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    lost_reason: int | None
    lost_note: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


LeadConverted.model_rebuild()


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None


class DealListQuery(Schema):
    q: str = ""
    status: DealStatusT | None = None
    stage: int | None = None
    pipeline: int | None = None
    owner: int | None = None
    account: int | None = None
    closing: str = Field("", description="YYYY-MM: expected to close in that month")
    contact: int | None = Field(None, description="Deals where this person has a role")
    role: RoleT | None = Field(None, description="... this role")
    cursor: str | None = None
    size: int = 50


class LeadListQuery(Schema):
    q: str = ""
    status: LeadStatusT | None = None
    owner: int | None = None
    cursor: str | None = None
    size: int = 50


class StageMove(In):
    stage: int
    lost_reason: int | None = Field(None, description="Required when the stage is a lost one")
    lost_note: str = ""


class StageChangeOut(Schema):
    id: int
    from_stage: int | None
    to_stage: int
    at: dt.datetime
    by: int | None
    amount: str
    currency: str
    probability: str
    forecast_category: ForecastT
    seconds_in_stage: int


class RoleIn(In):
    contact: int
    role: RoleT
    is_primary: bool = False


class RoleOut(Schema):
    id: int
    deal: int
    contact: int
    role: RoleT
    is_primary: bool


class StageIn(In):
    name: str
    order: int | None = None
    probability: str = Field("0", description='From "0" to "1"')
    kind: StageKindT = "open"


class StagePatch(In):
    name: str | None = None
    order: int | None = None
    probability: str | None = None
    kind: StageKindT | None = None
    is_active: bool | None = None


class StageOut(Schema):
    id: int
    version: int
    pipeline: int
    name: str
    order: int
    probability: str
    kind: StageKindT
    is_active: bool


class PipelineIn(In):
    name: str
    currency: str = "EUR"
    is_default: bool = False


class PipelinePatch(In):
    name: str | None = None
    currency: str | None = None
    is_default: bool | None = None
    is_active: bool | None = None


class PipelineOut(Schema):
    id: int
    version: int
    name: str
    currency: str
    is_default: bool
    is_active: bool
    stages: list[StageOut]


class LeadFormAccepted(Schema):
    status: str = Field(description='Always "received": the same whatever happened')


# --- rendering ----------------------------------------------------------------------------


def _lead(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk, "version": lead.version, "status": lead.status, "name": lead.name,
        "email": lead.email, "phone": lead.phone, "company_name": lead.company_name,
        "country": lead.country, "source": lead.source, "owner": lead.owner_id,
        "team": lead.team_id, "score": lead.score, "follow_up_on": lead.follow_up_on,
        "role": lead.role, "need": lead.need, "budget": lead.budget, "timing": lead.timing,
        "notes": lead.notes, "disqualify_reason": lead.disqualify_reason,
        "contact": lead.contact_id, "account": lead.account_id,
        "converted_deal": lead.converted_deal_id, "converted_at": lead.converted_at,
        "created_at": lead.created_at, "updated_at": lead.updated_at,
    }  # fmt: skip


def _deal(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.pk, "version": deal.version, "name": deal.name, "account": deal.account_id,
        "primary_contact": deal.primary_contact_id, "amount": str(deal.amount),
        "currency": deal.currency, "expected_close": deal.expected_close,
        "owner": deal.owner_id, "team": deal.team_id, "source": deal.source,
        "pipeline": deal.pipeline_id, "stage": deal.stage_id, "status": deal.status,
        "probability": str(deal.stage.probability), "forecast_category": deal.forecast_category,
        "stage_entered_at": deal.stage_entered_at, "closed_at": deal.closed_at,
        "lost_reason": deal.lost_reason_id, "lost_note": deal.lost_note,
        "description": deal.description, "created_at": deal.created_at,
        "updated_at": deal.updated_at,
    }  # fmt: skip


def _role(role: DealRole) -> dict[str, Any]:
    return {"id": role.pk, "deal": role.deal_id, "contact": role.contact_id, "role": role.role,
            "is_primary": role.is_primary}  # fmt: skip


def _stage(stage: Stage) -> dict[str, Any]:
    return {"id": stage.pk, "version": stage.version, "pipeline": stage.pipeline_id,
            "name": stage.name, "order": stage.order, "probability": str(stage.probability),
            "kind": stage.kind, "is_active": stage.is_active}  # fmt: skip


def _pipeline(pipeline: Pipeline) -> dict[str, Any]:
    return {"id": pipeline.pk, "version": pipeline.version, "name": pipeline.name,
            "currency": pipeline.currency, "is_default": pipeline.is_default,
            "is_active": pipeline.is_active,
            "stages": [_stage(s) for s in pipeline.stages.all()]}  # fmt: skip


# --- leads ------------------------------------------------------------------------------


@router.get(
    "/leads", response={200: LeadPage, **problems(403)}, url_name="lead-list", tags=["leads"]
)
def lead_list(request: HttpRequest, query: Query[LeadListQuery]):
    """Leads you may see, newest first, a page at a time."""
    filters = selectors.LeadFilters(**{**query.model_dump(), "status": query.status or ""})
    page = selectors.lead_list(actor=user_of(request), filters=filters)
    return {"items": [_lead(x) for x in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/leads", response={201: LeadOut, **problems(403)}, url_name="lead-create", tags=["leads"]
)
def lead_create(request: HttpRequest, payload: LeadFields, response: HttpResponse):
    """A lead. The duplicate check runs first: a known person's lead is on their contact
    (``contact`` in the answer), never a second record."""
    lead = services.lead_create(actor=actor_of(request), data=data_of(payload))
    set_etag(response, lead.version)
    response["Location"] = reverse("api:lead-detail", kwargs={"lead_id": lead.pk})
    return Status(201, _lead(lead))


@router.get(
    "/leads/{lead_id}",
    response={200: LeadOut, **problems(403, 404)},
    url_name="lead-detail",
    tags=["leads"],
)
def lead_read(request: HttpRequest, lead_id: int, response: HttpResponse):
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id)
    set_etag(response, lead.version)
    return _lead(lead)


@router.patch(
    "/leads/{lead_id}",
    response={200: LeadOut, **problems(403, 404, 412)},
    url_name="lead-update",
    tags=["leads"],
)
def lead_update(request: HttpRequest, lead_id: int, payload: LeadFields, response: HttpResponse):
    """Change the fields you send; send `If-Match` with the ETag you read."""
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id, for_action="change")
    lead = services.lead_update(actor=actor_of(request), lead=lead, data=data_of(payload),
                                expected_version=expected_version(request))  # fmt: skip
    set_etag(response, lead.version)
    return _lead(lead)


@router.delete(
    "/leads/{lead_id}",
    response={204: None, **problems(403, 404, 412)},
    url_name="lead-delete",
    tags=["leads"],
)
def lead_delete(request: HttpRequest, lead_id: int):
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id, for_action="delete")
    services.lead_delete(
        actor=actor_of(request), lead=lead, expected_version=expected_version(request)
    )
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/qualify",
    response={200: LeadOut, **problems(403, 404, 412)},
    url_name="lead-qualify",
    tags=["leads"],
)
def lead_qualify(request: HttpRequest, lead_id: int, payload: LeadQualify, response: HttpResponse):
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id, for_action="change")
    lead = services.lead_qualify(actor=actor_of(request), lead=lead, data=data_of(payload),
                                 expected_version=expected_version(request))  # fmt: skip
    set_etag(response, lead.version)
    return _lead(lead)


@router.post(
    "/leads/{lead_id}/disqualify",
    response={200: LeadOut, **problems(403, 404, 412)},
    url_name="lead-disqualify",
    tags=["leads"],
)
def lead_disqualify(
    request: HttpRequest, lead_id: int, payload: LeadDisqualify, response: HttpResponse
):
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id, for_action="change")
    lead = services.lead_disqualify(actor=actor_of(request), lead=lead, reason=payload.reason,
                                    expected_version=expected_version(request))  # fmt: skip
    set_etag(response, lead.version)
    return _lead(lead)


@router.post(
    "/leads/{lead_id}/convert",
    response={200: LeadConverted, **problems(403, 404, 412)},
    url_name="lead-convert",
    tags=["leads"],
)
def lead_convert(request: HttpRequest, lead_id: int, payload: LeadConvert):
    """Contact, account and deal in one step, linking what exists. Converting again
    answers with the first deal."""
    lead = selectors.lead_get(actor=user_of(request), pk=lead_id, for_action="change")
    deal = {k: v for k, v in data_of(payload, exclude=("contact_role",)).items() if v is not None}
    lead, made = services.lead_convert(actor=actor_of(request), lead=lead, deal=deal,
                                       contact_role=payload.contact_role,
                                       expected_version=expected_version(request))  # fmt: skip
    made = selectors.deal_get(actor=user_of(request), pk=made.pk)
    return {"lead": _lead(lead), "deal": _deal(made)}


# --- deals ------------------------------------------------------------------------------


@router.get(
    "/deals", response={200: DealPage, **problems(403)}, url_name="deal-list", tags=["deals"]
)
def deal_list(request: HttpRequest, query: Query[DealListQuery]):
    """Deals you may see, newest first; `contact` and `role` find the deals where a person
    has that role ("deals where Dana is the decision maker")."""
    values = {**query.model_dump(), "status": query.status or "", "role": query.role or ""}
    page = selectors.deal_list(actor=user_of(request), filters=selectors.DealFilters(**values))
    return {"items": [_deal(d) for d in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/deals", response={201: DealOut, **problems(403)}, url_name="deal-create", tags=["deals"]
)
def deal_create(request: HttpRequest, payload: DealCreate, response: HttpResponse):
    deal = services.deal_create(actor=actor_of(request), data=data_of(payload))
    deal = selectors.deal_get(actor=user_of(request), pk=deal.pk)
    set_etag(response, deal.version)
    response["Location"] = reverse("api:deal-detail", kwargs={"deal_id": deal.pk})
    return Status(201, _deal(deal))


@router.get(
    "/deals/{deal_id}",
    response={200: DealOut, **problems(403, 404)},
    url_name="deal-detail",
    tags=["deals"],
)
def deal_read(request: HttpRequest, deal_id: int, response: HttpResponse):
    deal = selectors.deal_get(actor=user_of(request), pk=deal_id)
    set_etag(response, deal.version)
    return _deal(deal)


@router.patch(
    "/deals/{deal_id}",
    response={200: DealOut, **problems(403, 404, 412)},
    url_name="deal-update",
    tags=["deals"],
)
def deal_update(request: HttpRequest, deal_id: int, payload: DealFields, response: HttpResponse):
    """Change the fields you send (the stage moves with POST .../stage)."""
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=deal_id, for_action="change")
    services.deal_update(actor=actor_of(request), deal=deal, data=data_of(payload),
                         expected_version=expected_version(request))  # fmt: skip
    deal = selectors.deal_get(actor=user, pk=deal_id)
    set_etag(response, deal.version)
    return _deal(deal)


@router.delete(
    "/deals/{deal_id}",
    response={204: None, **problems(403, 404, 412)},
    url_name="deal-delete",
    tags=["deals"],
)
def deal_delete(request: HttpRequest, deal_id: int):
    deal = selectors.deal_get(actor=user_of(request), pk=deal_id, for_action="delete")
    services.deal_delete(
        actor=actor_of(request), deal=deal, expected_version=expected_version(request)
    )
    return Status(204, None)


@router.post(
    "/deals/{deal_id}/stage",
    response={200: DealOut, **problems(403, 404, 412)},
    url_name="deal-stage",
    tags=["deals"],
)
def deal_stage(request: HttpRequest, deal_id: int, payload: StageMove, response: HttpResponse):
    """Move the deal to another stage of its pipeline; kept in its history. A lost stage
    needs `lost_reason`."""
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=deal_id, for_action="change")
    services.deal_stage_change(actor=actor_of(request), deal=deal, stage=payload.stage,
                               lost_reason=payload.lost_reason, lost_note=payload.lost_note,
                               expected_version=expected_version(request))  # fmt: skip
    deal = selectors.deal_get(actor=user, pk=deal_id)
    set_etag(response, deal.version)
    return _deal(deal)


@router.get(
    "/deals/{deal_id}/history",
    response={200: list[StageChangeOut], **problems(403, 404)},
    url_name="deal-history",
    tags=["deals"],
)
def deal_history(request: HttpRequest, deal_id: int):
    """Every stage change, oldest first, with the time spent in the stage it moved to."""
    deal = selectors.deal_get(actor=user_of(request), pk=deal_id)
    return [
        {"id": h.change.pk, "from_stage": h.change.from_stage_id, "to_stage": h.change.to_stage_id,
         "at": h.change.at, "by": h.change.by_id, "amount": str(h.change.amount),
         "currency": h.change.currency, "probability": str(h.change.probability),
         "forecast_category": h.change.forecast_category,
         "seconds_in_stage": int(h.duration.total_seconds())}
        for h in selectors.stage_history(deal=deal)
    ]  # fmt: skip


@router.get(
    "/deals/{deal_id}/roles",
    response={200: list[RoleOut], **problems(403, 404)},
    url_name="deal-roles",
    tags=["deals"],
)
def deal_roles(request: HttpRequest, deal_id: int):
    deal = selectors.deal_get(actor=user_of(request), pk=deal_id)
    return [_role(r) for r in selectors.deal_roles(deal=deal)]


@router.post(
    "/deals/{deal_id}/roles",
    response={201: RoleOut, **problems(403, 404)},
    url_name="deal-role-add",
    tags=["deals"],
)
def deal_role_add(request: HttpRequest, deal_id: int, payload: RoleIn):
    deal = selectors.deal_get(actor=user_of(request), pk=deal_id, for_action="change")
    role = services.deal_role_add(actor=actor_of(request), deal=deal, contact=payload.contact,
                                  role=payload.role, is_primary=payload.is_primary)  # fmt: skip
    return Status(201, _role(role))


@router.delete(
    "/deals/{deal_id}/roles/{role_id}",
    response={204: None, **problems(403, 404)},
    url_name="deal-role-delete",
    tags=["deals"],
)
def deal_role_delete(request: HttpRequest, deal_id: int, role_id: int):
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=deal_id, for_action="change")
    services.deal_role_remove(
        actor=actor_of(request), role=selectors.role_get(actor=user, deal=deal, pk=role_id)
    )
    return Status(204, None)


# --- pipelines and stages -------------------------------------------------------------------


def _setup(request: HttpRequest, action: str = "view") -> None:
    permissions.require(user_of(request), action, RecordKind.SALES_SETUP)


def _pipeline_get(pk: int) -> Pipeline:
    pipeline = Pipeline.objects.prefetch_related("stages").filter(pk=pk).first()
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return pipeline


def _stage_get(pk: int) -> Stage:
    stage = Stage.objects.filter(pk=pk).first()
    if stage is None:
        raise NotFound("No such stage.")
    return stage


@router.get(
    "/pipelines",
    response={200: list[PipelineOut], **problems(403)},
    url_name="pipeline-list",
    tags=["pipelines"],
)
def pipeline_list(request: HttpRequest):
    """Every pipeline with its stages in order."""
    _setup(request)
    return [_pipeline(p) for p in Pipeline.objects.prefetch_related("stages")]


@router.post(
    "/pipelines",
    response={201: PipelineOut, **problems(403)},
    url_name="pipeline-create",
    tags=["pipelines"],
)
def pipeline_create(request: HttpRequest, payload: PipelineIn, response: HttpResponse):
    pipeline = services.pipeline_create(actor=actor_of(request), data=data_of(payload))
    set_etag(response, pipeline.version)
    return Status(201, _pipeline(_pipeline_get(pipeline.pk)))


@router.get(
    "/pipelines/{pipeline_id}",
    response={200: PipelineOut, **problems(403, 404)},
    url_name="pipeline-detail",
    tags=["pipelines"],
)
def pipeline_read(request: HttpRequest, pipeline_id: int, response: HttpResponse):
    _setup(request)
    pipeline = _pipeline_get(pipeline_id)
    set_etag(response, pipeline.version)
    return _pipeline(pipeline)


@router.patch(
    "/pipelines/{pipeline_id}",
    response={200: PipelineOut, **problems(403, 404, 412)},
    url_name="pipeline-update",
    tags=["pipelines"],
)
def pipeline_update(
    request: HttpRequest, pipeline_id: int, payload: PipelinePatch, response: HttpResponse
):
    _setup(request)
    pipeline = services.pipeline_update(actor=actor_of(request), pipeline=_pipeline_get(pipeline_id),
                                        data=data_of(payload), expected_version=expected_version(request))  # fmt: skip
    set_etag(response, pipeline.version)
    return _pipeline(_pipeline_get(pipeline.pk))


@router.post(
    "/pipelines/{pipeline_id}/stages",
    response={201: StageOut, **problems(403, 404)},
    url_name="stage-create",
    tags=["pipelines"],
)
def stage_create(request: HttpRequest, pipeline_id: int, payload: StageIn, response: HttpResponse):
    _setup(request)
    stage = services.stage_create(
        actor=actor_of(request), pipeline=_pipeline_get(pipeline_id), data=data_of(payload)
    )
    set_etag(response, stage.version)
    return Status(201, _stage(stage))


@router.patch(
    "/stages/{stage_id}",
    response={200: StageOut, **problems(403, 404, 412)},
    url_name="stage-update",
    tags=["pipelines"],
)
def stage_update(request: HttpRequest, stage_id: int, payload: StagePatch, response: HttpResponse):
    _setup(request)
    stage = services.stage_update(actor=actor_of(request), stage=_stage_get(stage_id), data=data_of(payload),
                                  expected_version=expected_version(request))  # fmt: skip
    set_etag(response, stage.version)
    return _stage(stage)


@router.delete(
    "/stages/{stage_id}",
    response={204: None, **problems(403, 404, 412)},
    url_name="stage-delete",
    tags=["pipelines"],
)
def stage_delete(request: HttpRequest, stage_id: int):
    _setup(request)
    services.stage_delete(
        actor=actor_of(request),
        stage=_stage_get(stage_id),
        expected_version=expected_version(request),
    )
    return Status(204, None)


# --- the public lead form -----------------------------------------------------------------

MAX_FORM_BYTES = 16 * 1024


@router.post(
    "/lead-forms/submit",
    auth=None,
    response={202: LeadFormAccepted},
    url_name="lead-form-submit",
    tags=["leads"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
def lead_form_submit(request: HttpRequest, response: HttpResponse):
    """The endpoint a public web form posts to (no login): the form's `token`, the
    person's `name`, `email`, `phone`, `company_name`, `country`, `need`, `budget`,
    `timing`, `role`, and the form's hidden honeypot field left empty. The answer is
    always 202 "received", whether the token is known, the post is spam or over the rate
    limit, or the person is known: it tells a prober nothing."""
    fields: dict[str, Any] = {}
    if len(request.body) <= MAX_FORM_BYTES:
        if request.content_type == "application/json":
            try:
                loaded = json.loads(request.body or b"{}")
                fields = loaded if isinstance(loaded, dict) else {}
            except (ValueError, UnicodeDecodeError):
                fields = {}
        else:
            fields = request.POST.dict()
    services.lead_form_post(
        token=str(fields.pop("token", "") or request.headers.get("X-Lead-Form-Token", "")),
        fields=fields,
        address=request.META.get("REMOTE_ADDR", ""),
        origin=request.headers.get("Origin", ""),
    )
    origin = request.headers.get("Origin", "")
    if origin:
        # Browsers may read the answer from any site: it is the same for all.
        response["Access-Control-Allow-Origin"] = "*"
    return Status(202, {"status": "received"})


# --- forecasting: quotas, adjustments, the forecast (live or of a past date), learned
# stage probabilities ------------------------------------------------------------------------

MAX_ID = 2**63 - 1
PERIOD = Field(description="A month (2026-11) or a quarter (2026-Q4)")


class QuotaIn(In):
    user: int | None = Field(None, ge=1, le=MAX_ID, description="The rep (or give a team)")
    team: int | None = Field(None, ge=1, le=MAX_ID, description="The team (or give a user)")
    period: str = PERIOD
    amount: str = Field(description='A decimal string such as "25000.00"')
    currency: str | None = Field(None, description="ISO 4217; the default pipeline's if empty")


class QuotaOut(Schema):
    id: int
    version: int
    user: int | None
    team: int | None
    period: str
    period_kind: str
    period_start: dt.date
    amount: str
    currency: str
    set_by: int | None


class QuotaListQuery(Schema):
    period: str | None = Field(
        None, description="A month or a quarter (a quarter lists its months' too)"
    )
    user: int | None = Field(None, ge=1, le=MAX_ID)
    team: int | None = Field(None, ge=1, le=MAX_ID)


class SalesAdjustmentIn(In):
    user: int = Field(ge=1, le=MAX_ID, description="The rep whose forecast is adjusted")
    period: str = PERIOD
    amount: str = Field(description="The manager's figure, a decimal string")
    currency: str | None = None
    reason: str = Field(description="Why (required, at most 500 characters)")


class SalesAdjustmentOut(Schema):
    id: int
    user: int
    period: str
    amount: str
    currency: str
    reason: str
    by: int | None
    at: dt.datetime


class SalesAdjustmentQuery(Schema):
    period: str | None = None
    user: int | None = Field(None, ge=1, le=MAX_ID)


class SalesForecastQuery(Schema):
    period: str | None = Field(
        None, description="A month or a quarter; the current quarter if empty"
    )
    as_of: dt.date | None = Field(
        None, description="A past day: the forecast as it stood at its end"
    )
    team: int | None = Field(None, ge=1, le=MAX_ID)
    rep: int | None = Field(None, ge=1, le=MAX_ID)
    pipeline: int | None = Field(None, ge=1, le=MAX_ID)


class SalesForecastRowOut(Schema):
    level: str = Field(description="rep, team or company")
    label: str
    currency: str
    user: int | None
    team: int | None
    open_deals: int
    pipeline: str
    best_case: str
    commit: str
    weighted: str
    closed: str
    quota: str | None
    adjusted: str | None = Field(description="The manager's figure, beside the rep's own")
    adjustment: int | None = Field(description="The adjustment shown (a rep's)")


class SalesForecastOut(Schema):
    period: str
    first: dt.date
    last: dt.date
    as_of: dt.datetime | None
    rows: list[SalesForecastRowOut]


class SalesMonthsQuery(Schema):
    months: int = Field(12, ge=1, le=36)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    rep: int | None = Field(None, ge=1, le=MAX_ID)


class SalesMonthOut(Schema):
    month: str
    currency: str
    pipeline: str
    best_case: str
    commit: str
    weighted: str
    actual: str


class SalesStageProbabilityOut(Schema):
    stage: int
    name: str
    configured: str
    learned: str | None
    used: str
    source: str = Field(description="learned, or configured below the minimum sample")
    won: int
    lost: int


class SalesCalibrationOut(Schema):
    cutoff: dt.datetime | None
    train_deals: int
    test_deals: int
    test_points: int
    brier_learned: float | None
    brier_configured: float | None


class SalesProbabilitiesOut(Schema):
    pipeline: int
    min_sample: int
    stages: list[SalesStageProbabilityOut]
    calibration: SalesCalibrationOut


def _period_name(kind: str, start: dt.date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}" if kind == "quarter" else f"{start:%Y-%m}"


def _quota(q: Any) -> dict[str, Any]:
    return {
        "id": q.pk, "version": q.version, "user": q.user_id, "team": q.team_id,
        "period": _period_name(q.period_kind, q.period_start), "period_kind": q.period_kind,
        "period_start": q.period_start, "amount": str(q.amount), "currency": q.currency,
        "set_by": q.set_by_id,
    }  # fmt: skip


def _adjustment(a: Any) -> dict[str, Any]:
    return {
        "id": a.pk, "user": a.user_id, "period": _period_name(a.period_kind, a.period_start),
        "amount": str(a.amount), "currency": a.currency, "reason": a.reason, "by": a.by_id, "at": a.at,
    }  # fmt: skip


def _money_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_period(value: str | None) -> Any:
    from rapport.sales.forecasting.periods import period_parse

    return period_parse(value) if value else None


@router.get(
    "/quotas",
    response={200: list[QuotaOut], **problems(403)},
    url_name="quota-list",
    tags=["forecasts"],
)
def quota_list(request: HttpRequest, query: Query[QuotaListQuery]):
    """Quotas of reps and teams (a rep sees their team's)."""
    from rapport.sales.forecasting import selectors as fsel

    rows = fsel.quota_list(actor=user_of(request), period=_optional_period(query.period),
                           user=query.user, team=query.team)  # fmt: skip
    return [_quota(q) for q in rows[:1000]]


@router.post(
    "/quotas",
    response={200: QuotaOut, 201: QuotaOut, **problems(403)},
    url_name="quota-set",
    tags=["forecasts"],
)
def quota_set(request: HttpRequest, payload: QuotaIn, response: HttpResponse):
    """Set a rep's or a team's quota for a month or quarter: 201 when new, 200 when its
    amount was changed (one quota per rep or team, period and currency)."""
    from rapport.sales.forecasting import services as fsvc

    quota, created = fsvc.quota_set(actor=actor_of(request), data=data_of(payload))
    set_etag(response, quota.version)
    return Status(201 if created else 200, _quota(quota))


@router.delete(
    "/quotas/{quota_id}",
    response={204: None, **problems(403, 404)},
    url_name="quota-delete",
    tags=["forecasts"],
)
def quota_delete(request: HttpRequest, quota_id: int):
    from rapport.sales.forecasting import selectors as fsel
    from rapport.sales.forecasting import services as fsvc

    permissions.require(user_of(request), "change", RecordKind.SALES_SETUP)
    quota = fsel.quota_get(actor=user_of(request), pk=quota_id)
    fsvc.quota_delete(actor=actor_of(request), quota=quota)
    return Status(204, None)


@router.get(
    "/forecast-adjustments",
    response={200: list[SalesAdjustmentOut], **problems(403)},
    url_name="forecast-adjustment-list",
    tags=["forecasts"],
)
def adjustment_list(request: HttpRequest, query: Query[SalesAdjustmentQuery]):
    """The managers' adjustments of the reps the caller may see, newest first."""
    from rapport.sales.forecasting import selectors as fsel

    rows = fsel.adjustment_list(
        actor=user_of(request), period=_optional_period(query.period), user=query.user
    )
    return [_adjustment(a) for a in rows[:1000]]


@router.post(
    "/forecast-adjustments",
    response={201: SalesAdjustmentOut, **problems(403, 404)},
    url_name="forecast-adjustment-add",
    tags=["forecasts"],
)
def adjustment_add(request: HttpRequest, payload: SalesAdjustmentIn):
    """A manager's figure for a rep's forecast of a period, with the reason: kept beside
    the rep's own figures, never over them."""
    from rapport.sales.forecasting import services as fsvc

    row = fsvc.adjustment_add(actor=actor_of(request), data=data_of(payload))
    return Status(201, _adjustment(row))


@router.get(
    "/forecast",
    response={200: SalesForecastOut, **problems(403, 404)},
    url_name="forecast",
    tags=["forecasts"],
)
def forecast(request: HttpRequest, query: Query[SalesForecastQuery]):
    """The forecast of a period by rep, team and company, with quotas and the managers'
    figures; with ``as_of``, as it stood at the end of that past day (rebuilt from the
    stage history)."""
    from django.utils import timezone

    from rapport.core.errors import ValidationFailed
    from rapport.sales.forecasting.periods import period_parse, quarter_of
    from rapport.sales.forecasting.selectors import forecast_report

    user = user_of(request)
    today = timezone.localdate()
    period = period_parse(query.period) if query.period else quarter_of(today)
    as_of = None
    if query.as_of is not None:
        if query.as_of >= today:
            raise ValidationFailed(
                "The date is not past.", errors={"as_of": ["Give a day before today."]}
            )
        as_of = timezone.make_aware(dt.datetime.combine(query.as_of, dt.time.max))
    scope = selectors.Scope(pipeline=query.pipeline, owner=query.rep, team=query.team)
    rows = forecast_report(actor=user, period=period, as_of=as_of, scope=scope)
    return {
        "period": period.name, "first": period.start, "last": period.last, "as_of": as_of,
        "rows": [
            {"level": r.level, "label": r.label, "currency": r.currency, "user": r.user_id,
             "team": r.team_id, "open_deals": r.open_deals, "pipeline": str(r.pipeline),
             "best_case": str(r.best_case), "commit": str(r.commit), "weighted": str(r.weighted),
             "closed": str(r.closed), "quota": _money_or_none(r.quota),
             "adjusted": _money_or_none(r.adjusted),
             "adjustment": r.adjustment.pk if r.adjustment else None}
            for r in rows
        ],
    }  # fmt: skip


@router.get(
    "/forecast/months",
    response={200: list[SalesMonthOut], **problems(403)},
    url_name="forecast-months",
    tags=["forecasts"],
)
def forecast_months(request: HttpRequest, query: Query[SalesMonthsQuery]):
    """Forecast against actual: each past month's forecast as it stood on its first day,
    beside what was won in it (oldest first)."""
    from rapport.sales.forecasting.history import forecast_against_actual

    scope = selectors.Scope(owner=query.rep, team=query.team)
    rows = forecast_against_actual(actor=user_of(request), months=query.months, scope=scope)
    return [
        {"month": m.month.name, "currency": m.currency, "pipeline": str(m.pipeline),
         "best_case": str(m.best_case), "commit": str(m.commit), "weighted": str(m.weighted),
         "actual": str(m.actual)}
        for m in rows
    ]  # fmt: skip


@router.get(
    "/pipelines/{pipeline_id}/learned-probabilities",
    response={200: SalesProbabilitiesOut, **problems(403, 404)},
    url_name="learned-probabilities",
    tags=["forecasts"],
)
def learned_probabilities(request: HttpRequest, pipeline_id: int):
    """Each open stage's win rate learned from the closed deals the caller may see (the
    configured probability below the minimum sample), and the Brier scores of learned and
    configured probabilities on the most recently closed deals (a time split)."""
    from rapport.sales.forecasting import probabilities

    user = user_of(request)
    permissions.require(user, "view", RecordKind.DEAL)
    rows, cal = probabilities.learned_probabilities(actor=user, pipeline=_pipeline_get(pipeline_id))
    return {
        "pipeline": pipeline_id, "min_sample": probabilities.MIN_SAMPLE,
        "stages": [
            {"stage": r.stage.pk, "name": r.stage.name, "configured": str(r.configured),
             "learned": _money_or_none(r.learned), "used": str(r.used), "source": r.source,
             "won": r.won, "lost": r.lost}
            for r in rows
        ],
        "calibration": {
            "cutoff": cal.cutoff, "train_deals": cal.train_deals, "test_deals": cal.test_deals,
            "test_points": cal.test_points, "brier_learned": cal.brier_learned,
            "brier_configured": cal.brier_configured,
        },
    }  # fmt: skip
