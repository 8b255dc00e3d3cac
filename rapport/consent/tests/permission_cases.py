"""Consent's API operations and pages, for the permission harness
(``rapport.core.testing.permissions``): a consent and a sent message on bob's contact.

The person's own pages (unsubscribe, confirmation, preference centre) and the bounce
webhook take no user: they are exempt in the harness, and tested in test_public_pages.py
and test_unsubscribe.py."""

from __future__ import annotations

from rapport.consent.models import Purpose
from rapport.consent.requests.services import privacy_request_create
from rapport.consent.sending import OutboundEmail, send_queue
from rapport.consent.tests.factories import SYSTEM, grant
from rapport.core.testing.permissions import Case, World
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact

DEPENDS = ("customers",)
C, K, V = "contact", "consent", "view"
P = "privacy"


def build(world: World) -> None:
    contact = Contact.objects.get(pk=world.ids["contact"])
    grant(contact, "events", channel="phone", source="call")
    message = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=contact.pk, to_address="world@example.com", purpose="service",
            subject="Your case", text="Hello",
        ),
    )  # fmt: skip
    world.ids.update(outbound=message.pk, purpose=Purpose.objects.get(key="events").pk)
    export = privacy_request_create(actor=SYSTEM, data={"kind": "export", "contact": contact.pk})
    leaving = make_contact(full_name="Leaving Person", owner=world.users["bob"])
    erasure = privacy_request_create(actor=SYSTEM, data={"kind": "erasure", "contact": leaving.pk})
    world.ids.update(privacy_request=export.pk, privacy_erasure=erasure.pk)


RECORD = {"channel": "phone", "purpose": "events", "status": "withdrawn", "source": "call"}

CASES: list[Case] = [
    Case("get", "/consent/purposes", needs=((K, V),)),
    Case("get", "/contacts/{contact}/consent", parent=C, needs=((K, V),)),
    Case(
        "post",
        "/contacts/{contact}/consent",
        body=RECORD,
        success=201,
        parent=C,
        needs=((K, "add"),),
    ),
    Case("get", "/consent/messages", needs=((K, V),)),
    Case("get", "/consent/messages/{outbound}", parent=C, needs=((K, V),)),
    Case("get", url="consent:home", needs=((K, V),)),
    Case(
        "post",
        url="consent:purpose-create",
        body={"key": "webinars", "label": "Webinars", "lawful_basis": "consent"},
        success=302,
        needs=((K, "change"),),
    ),  # fmt: skip
    Case(
        "post",
        url="consent:purpose-update",
        args=("purpose",),
        body={"label": "Events and fairs", "lawful_basis": "consent", "active": "on"},
        success=302,
        needs=((K, "change"),),
    ),  # fmt: skip
    Case("get", url="consent:contact-panel", args=("contact",), parent=C, needs=((K, V),)),
    Case(
        "post",
        url="consent:contact-record",
        args=("contact",),
        body=RECORD,
        success=302,
        parent=C,
        needs=((K, "add"),),
    ),  # fmt: skip
    # Privacy requests: stewards answer them (change, export), admins too, managers read.
    Case("get", "/privacy/requests", needs=((P, V),)),
    Case(
        "post",
        "/privacy/requests",
        body=lambda w: {"kind": "rectification", "contact": w.ids["contact"]},
        success=201,
        needs=((P, "add"),),
    ),
    Case("get", "/privacy/requests/{privacy_request}", needs=((P, V),)),
    Case(
        "patch",
        "/privacy/requests/{privacy_request}",
        body={"status": "in_progress"},
        needs=((P, "change"),),
    ),
    Case("post", "/privacy/requests/{privacy_erasure}/erase", needs=((P, "change"),)),
    Case("get", "/privacy/requests/{privacy_request}/export", needs=((P, "export"),)),
    Case("get", url="consent:privacy-requests", needs=((P, V),)),
    Case(
        "post",
        url="consent:privacy-request-create",
        body=lambda w: {"kind": "export", "contact": w.ids["contact"]},
        success=302,
        needs=((P, "add"),),
    ),
    Case("get", url="consent:privacy-request-detail", args=("privacy_request",), needs=((P, V),)),
    Case(
        "post",
        url="consent:privacy-request-update",
        args=("privacy_request",),
        body={"status": "in_progress"},
        success=302,
        needs=((P, "change"),),
    ),
    Case(
        "post",
        url="consent:privacy-request-erase",
        args=("privacy_erasure",),
        body={"confirm": "erase"},
        success=302,
        needs=((P, "change"),),
    ),
    Case(
        "get",
        url="consent:privacy-request-export",
        args=("privacy_request", "json"),
        needs=((P, "export"),),
    ),
]
