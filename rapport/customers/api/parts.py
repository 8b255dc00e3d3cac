"""The parts of a record: a contact's e-mails, phones, addresses, memberships and external
ids; an account's domains, addresses and external ids.

Parts carry no version of their own: a change to one is a change to the parent record, so
``If-Match`` and ``ETag`` here are the parent's.
"""

from dataclasses import dataclass
from types import GenericAlias
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Status

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.core.errors import PermissionDenied
from rapport.customers import selectors, services
from rapport.customers.api import render
from rapport.customers.api.schemas import (
    AddressIn,
    AddressOut,
    AddressPatch,
    DomainIn,
    DomainOut,
    EmailIn,
    EmailOut,
    EmailPatch,
    ExternalIdIn,
    ExternalIdOut,
    MembershipIn,
    MembershipOut,
    MembershipPatch,
    PhoneIn,
    PhoneOut,
    PhonePatch,
)
from rapport.customers.models import Account, Contact
from rapport.users import permissions

router = Router()


@dataclass(frozen=True)
class Part:
    parent: str  # "contact" or "account"
    segment: str  # in the URL
    name: str  # as the services call it
    create: type
    patch: type | None  # None: the service does not change these in place
    out: type


PARTS = [
    Part("contact", "emails", "emails", EmailIn, EmailPatch, EmailOut),
    Part("contact", "phones", "phones", PhoneIn, PhonePatch, PhoneOut),
    Part("contact", "addresses", "addresses", AddressIn, AddressPatch, AddressOut),
    Part("contact", "memberships", "memberships", MembershipIn, MembershipPatch, MembershipOut),
    Part("contact", "external-ids", "external_ids", ExternalIdIn, None, ExternalIdOut),
    Part("account", "domains", "domains", DomainIn, None, DomainOut),
    Part("account", "addresses", "addresses", AddressIn, AddressPatch, AddressOut),
    Part("account", "external-ids", "external_ids", ExternalIdIn, None, ExternalIdOut),
]


def _parent(request: HttpRequest, spec: Part, parent_id: int) -> Any:
    user = user_of(request)
    parent: Contact | Account
    if spec.parent == "contact":
        parent = selectors.contact_get(actor=user, pk=parent_id)
    else:
        parent = selectors.account_get(actor=user, pk=parent_id)
    if not permissions.field_access(user, spec.parent).can_view(spec.name):
        raise PermissionDenied(f"Your role may not see {spec.parent} {spec.name}.")
    return parent


def _register(spec: Part) -> None:
    base = f"/{spec.parent}s/{{parent_id}}/{spec.segment}"
    ident = f"{spec.parent}_{spec.name}"
    url = f"{spec.parent}-{spec.segment}"
    tags = [f"{spec.parent}s"]

    def list_parts(request: HttpRequest, parent_id: int, response: HttpResponse) -> Any:
        parent = _parent(request, spec, parent_id)
        set_etag(response, parent.version)
        return [
            render.part(user_of(request), spec.name, p) for p in getattr(parent, spec.name).all()
        ]

    def read_part(
        request: HttpRequest, parent_id: int, part_id: int, response: HttpResponse
    ) -> Any:
        parent = _parent(request, spec, parent_id)
        obj = services.part_get(parent=parent, part=spec.name, pk=part_id)
        set_etag(response, parent.version)
        return render.part(user_of(request), spec.name, obj)

    def create_part(
        request: HttpRequest, parent_id: int, payload: Any, response: HttpResponse
    ) -> Any:
        parent = _parent(request, spec, parent_id)
        obj = services.part_add(
            actor=actor_of(request),
            parent=parent,
            part=spec.name,
            data=data_of(payload),
            expected_version=expected_version(request),
        )
        set_etag(response, parent.version)
        response["Location"] = reverse(
            f"api:{url}-detail", kwargs={"parent_id": parent_id, "part_id": obj.pk}
        )
        return Status(201, render.part(user_of(request), spec.name, obj))

    def update_part(
        request: HttpRequest,
        parent_id: int,
        part_id: int,
        payload: Any,
        response: HttpResponse,
    ) -> Any:
        parent = _parent(request, spec, parent_id)
        obj = services.part_get(parent=parent, part=spec.name, pk=part_id)
        obj = services.part_update(
            actor=actor_of(request),
            parent=parent,
            part=spec.name,
            obj=obj,
            data=data_of(payload),
            expected_version=expected_version(request),
        )
        set_etag(response, parent.version)
        return render.part(user_of(request), spec.name, obj)

    def delete_part(
        request: HttpRequest, parent_id: int, part_id: int, response: HttpResponse
    ) -> Any:
        parent = _parent(request, spec, parent_id)
        obj = services.part_get(parent=parent, part=spec.name, pk=part_id)
        services.part_delete(
            actor=actor_of(request),
            parent=parent,
            part=spec.name,
            obj=obj,
            expected_version=expected_version(request),
        )
        set_etag(response, parent.version)
        return Status(204, None)

    # The body's schema differs per part; ninja reads it from the annotation.
    create_part.__annotations__["payload"] = spec.create
    update_part.__annotations__["payload"] = spec.patch

    label = spec.segment.replace("-", " ")
    router.get(
        base,
        response={200: GenericAlias(list, (spec.out,)), **problems(403, 404)},
        exclude_unset=True,
        url_name=f"{url}-list",
        operation_id=f"{ident}_list",
        summary=f"List the {spec.parent}'s {label}",
        tags=tags,
    )(list_parts)  # type: ignore[name-defined]
    router.post(
        base,
        response={201: spec.out, **problems(403, 404, 412)},
        exclude_unset=True,
        url_name=f"{url}-create",
        operation_id=f"{ident}_create",
        summary=f"Add to the {spec.parent}'s {label}",
        tags=tags,
    )(create_part)
    router.get(
        f"{base}/{{part_id}}",
        response={200: spec.out, **problems(403, 404)},
        exclude_unset=True,
        url_name=f"{url}-detail",
        operation_id=f"{ident}_read",
        summary=f"Read one of the {spec.parent}'s {label}",
        tags=tags,
    )(read_part)
    if spec.patch is not None:
        router.patch(
            f"{base}/{{part_id}}",
            response={200: spec.out, **problems(403, 404, 412)},
            exclude_unset=True,
            url_name=f"{url}-update",
            operation_id=f"{ident}_update",
            summary=f"Change one of the {spec.parent}'s {label}",
            tags=tags,
        )(update_part)
    router.delete(
        f"{base}/{{part_id}}",
        response={204: None, **problems(403, 404, 412)},
        exclude_unset=True,
        url_name=f"{url}-delete",
        operation_id=f"{ident}_delete",
        summary=f"Remove one of the {spec.parent}'s {label}",
        tags=tags,
    )(delete_part)


for _spec in PARTS:
    _register(_spec)
