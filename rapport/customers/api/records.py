"""Accounts and contacts: list, read, create, change, delete, history."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, rendered, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.customers import selectors, services
from rapport.customers.api import render
from rapport.customers.api.schemas import (
    AccountCreate,
    AccountCreated,
    AccountOut,
    AccountPage,
    AccountPatch,
    ContactCreate,
    ContactCreated,
    ContactOut,
    ContactPage,
    ContactPatch,
    DuplicateProblem,
    HistoryEntryOut,
    LifecycleT,
    OnDuplicateT,
    PersonOut,
    SortT,
)
from rapport.customers.services import ContactParts
from rapport.identity import api as identity_api

router = Router()

PARTS = ("emails", "phones", "addresses", "memberships", "external_ids")


class ListQuery(Schema):
    q: str = ""
    lifecycle: LifecycleT | None = None
    owner: int | None = None
    tag: str = ""
    sort: SortT = "name"
    cursor: str | None = None
    size: int = 50


class ContactListQuery(ListQuery):
    account: int | None = None


def _filters(query: ListQuery) -> selectors.ListFilters:
    return selectors.ListFilters(**{**query.model_dump(), "lifecycle": query.lifecycle or ""})


# A create may look for likely duplicates first: `report` says which, `refuse` stops there.
ON_DUPLICATE = Query(  # noqa: B008 - ninja's way to document a parameter
    "ignore",
    description="ignore (default): create without looking; report: create and list likely "
    "duplicates under `duplicates`; refuse: 409 with `duplicates` if any, else create",
)
CREATE_PROBLEMS = {**problems(403, 409), 409: DuplicateProblem}


def _duplicates(
    request: HttpRequest, kind: str, payload: Schema, on_duplicate: str
) -> list[dict[str, Any]]:
    if on_duplicate == "ignore":
        return []
    return identity_api.duplicates_found(
        user=user_of(request), kind=kind, record=payload.model_dump(exclude_unset=True)
    )


# --- contacts ------------------------------------------------------------------------------


@router.get(
    "/contacts",
    response={200: ContactPage, **problems(403)},
    exclude_unset=True,
    url_name="contact-list",
    tags=["contacts"],
)
def contact_list(request: HttpRequest, query: Query[ContactListQuery]):
    """Contacts you may see, a page at a time; follow `next_cursor` until it is null."""
    user = user_of(request)
    page = selectors.contact_list(actor=user, filters=_filters(query))
    return {"items": render.contact_summaries(user, page.items), "next_cursor": page.next_cursor}


@router.post(
    "/contacts",
    response={201: ContactCreated, **CREATE_PROBLEMS},
    exclude_unset=True,
    url_name="contact-create",
    tags=["contacts"],
)
def contact_create(
    request: HttpRequest,
    payload: ContactCreate,
    response: HttpResponse,
    on_duplicate: OnDuplicateT = ON_DUPLICATE,
):
    """Create a contact, with its e-mails, phones, addresses, memberships and external ids.
    With `on_duplicate` it first looks for contacts you may see that are likely the same."""
    duplicates = _duplicates(request, "contact", payload, on_duplicate)
    if on_duplicate == "refuse" and duplicates:
        return identity_api.duplicates_refused("contact", duplicates)
    parts = ContactParts(**{p: [data_of(i) for i in getattr(payload, p)] for p in PARTS})
    contact = services.contact_create(
        actor=actor_of(request), data=data_of(payload, exclude=PARTS), parts=parts
    )
    set_etag(response, contact.version)
    response["Location"] = reverse("api:contact-detail", kwargs={"contact_id": contact.pk})
    body = render.contact(user_of(request), contact)
    if on_duplicate == "report":
        body["duplicates"] = duplicates
    return Status(201, body)


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactOut, **problems(403, 404)},
    exclude_unset=True,
    url_name="contact-detail",
    tags=["contacts"],
)
def contact_read(request: HttpRequest, contact_id: int, response: HttpResponse):
    user = user_of(request)
    values = selectors.contact_detail(actor=user, pk=contact_id)
    set_etag(response, values["version"])
    return rendered(response, render.contact_values(user, values))


@router.patch(
    "/contacts/{contact_id}",
    response={200: ContactOut, **problems(403, 404, 412)},
    exclude_unset=True,
    url_name="contact-update",
    tags=["contacts"],
)
def contact_update(
    request: HttpRequest, contact_id: int, payload: ContactPatch, response: HttpResponse
):
    """Change the fields you send. Send `If-Match` with the ETag you read to avoid lost updates."""
    user = user_of(request)
    contact = selectors.contact_get(actor=user, pk=contact_id)
    contact = services.contact_update(
        actor=actor_of(request),
        contact=contact,
        data=data_of(payload),
        expected_version=expected_version(request),
    )
    set_etag(response, contact.version)
    return render.contact(user, contact)


@router.delete(
    "/contacts/{contact_id}",
    response={204: None, **problems(403, 404, 412)},
    exclude_unset=True,
    url_name="contact-delete",
    tags=["contacts"],
)
def contact_delete(request: HttpRequest, contact_id: int):
    contact = selectors.contact_get(actor=user_of(request), pk=contact_id)
    services.contact_delete(
        actor=actor_of(request), contact=contact, expected_version=expected_version(request)
    )
    return Status(204, None)


@router.get(
    "/contacts/{contact_id}/history",
    response={200: list[HistoryEntryOut], **problems(403, 404)},
    exclude_unset=True,
    url_name="contact-history",
    tags=["contacts"],
)
def contact_history(request: HttpRequest, contact_id: int, limit: int = 50):
    """Changes to the contact and its parts, newest first, with each field's old and new value."""
    user = user_of(request)
    contact = selectors.contact_get(actor=user, pk=contact_id)
    entries = selectors.history(
        actor=user, kind="contact", obj=contact, limit=max(1, min(limit, 500))
    )
    return [render.history_entry(user, "contact", e) for e in entries]


# --- accounts ------------------------------------------------------------------------------


@router.get(
    "/accounts",
    response={200: AccountPage, **problems(403)},
    exclude_unset=True,
    url_name="account-list",
    tags=["accounts"],
)
def account_list(request: HttpRequest, query: Query[ListQuery]):
    """Accounts you may see, a page at a time; follow `next_cursor` until it is null."""
    user = user_of(request)
    page = selectors.account_list(actor=user, filters=_filters(query))
    return {"items": render.account_summaries(user, page.items), "next_cursor": page.next_cursor}


@router.post(
    "/accounts",
    response={201: AccountCreated, **CREATE_PROBLEMS},
    exclude_unset=True,
    url_name="account-create",
    tags=["accounts"],
)
def account_create(
    request: HttpRequest,
    payload: AccountCreate,
    response: HttpResponse,
    on_duplicate: OnDuplicateT = ON_DUPLICATE,
):
    """Create an account, with its web domains, external ids and addresses. With
    `on_duplicate` it first looks for accounts you may see that are likely the same."""
    duplicates = _duplicates(request, "account", payload, on_duplicate)
    if on_duplicate == "refuse" and duplicates:
        return identity_api.duplicates_refused("account", duplicates)
    account = services.account_create(
        actor=actor_of(request),
        data=data_of(payload, exclude=("domains", "external_ids", "addresses")),
        domains=payload.domains,
        external_ids=[data_of(x) for x in payload.external_ids],
        addresses=[data_of(a) for a in payload.addresses],
    )
    set_etag(response, account.version)
    response["Location"] = reverse("api:account-detail", kwargs={"account_id": account.pk})
    body = render.account(user_of(request), account)
    if on_duplicate == "report":
        body["duplicates"] = duplicates
    return Status(201, body)


@router.get(
    "/accounts/{account_id}",
    response={200: AccountOut, **problems(403, 404)},
    exclude_unset=True,
    url_name="account-detail",
    tags=["accounts"],
)
def account_read(request: HttpRequest, account_id: int, response: HttpResponse):
    user = user_of(request)
    account = selectors.account_get(actor=user, pk=account_id)
    set_etag(response, account.version)
    return render.account(user, account)


@router.patch(
    "/accounts/{account_id}",
    response={200: AccountOut, **problems(403, 404, 412)},
    exclude_unset=True,
    url_name="account-update",
    tags=["accounts"],
)
def account_update(
    request: HttpRequest, account_id: int, payload: AccountPatch, response: HttpResponse
):
    """Change the fields you send. Send `If-Match` with the ETag you read to avoid lost updates."""
    user = user_of(request)
    account = selectors.account_get(actor=user, pk=account_id)
    account = services.account_update(
        actor=actor_of(request),
        account=account,
        data=data_of(payload),
        expected_version=expected_version(request),
    )
    set_etag(response, account.version)
    return render.account(user, account)


@router.delete(
    "/accounts/{account_id}",
    response={204: None, **problems(403, 404, 412)},
    exclude_unset=True,
    url_name="account-delete",
    tags=["accounts"],
)
def account_delete(request: HttpRequest, account_id: int):
    account = selectors.account_get(actor=user_of(request), pk=account_id)
    services.account_delete(
        actor=actor_of(request), account=account, expected_version=expected_version(request)
    )
    return Status(204, None)


@router.get(
    "/accounts/{account_id}/people",
    response={200: list[PersonOut], **problems(403, 404)},
    exclude_unset=True,
    url_name="account-people",
    tags=["accounts"],
)
def account_people(request: HttpRequest, account_id: int):
    """The account's people you may see, most important first (rank, buying role, name)."""
    user = user_of(request)
    account = selectors.account_get(actor=user, pk=account_id)
    return [render.person(m) for m in selectors.account_people(actor=user, account=account)]


@router.get(
    "/accounts/{account_id}/history",
    response={200: list[HistoryEntryOut], **problems(403, 404)},
    exclude_unset=True,
    url_name="account-history",
    tags=["accounts"],
)
def account_history(request: HttpRequest, account_id: int, limit: int = 50):
    """Changes to the account and its parts, newest first, with each field's old and new value."""
    user = user_of(request)
    account = selectors.account_get(actor=user, pk=account_id)
    entries = selectors.history(
        actor=user, kind="account", obj=account, limit=max(1, min(limit, 500))
    )
    return [render.history_entry(user, "account", e) for e in entries]
