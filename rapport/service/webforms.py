"""The public web form's one write: a message from the company's site becomes a case.

The sender is found by their e-mail address (the contact who has it; a new contact when
nobody does), the case goes to the form's team, and the message is the case's first. The
page answers the same whatever happened (see ``views.web_form``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rapport.core.actor import Actor, Via
from rapport.core.errors import ValidationFailed
from rapport.customers import services as customers
from rapport.customers.models import ContactEmail
from rapport.customers.normalize import check_text, normalize_email
from rapport.customers.services import ContactParts
from rapport.service import services
from rapport.service.models import Case, CaseMessage, WebForm


def _clean(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for name, limit, required in (
        ("name", 200, True),
        ("email", 254, True),
        ("subject", 300, True),
        ("message", 20_000, True),
    ):
        value = (
            " ".join(str(data.get(name) or "").split())
            if name != "message"
            else str(data.get(name) or "").strip()
        )
        try:
            check_text(value)
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        if required and not value:
            errors[name] = ["This field is required."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit:,} characters."]
        out[name] = value
    if out.get("email") and "email" not in errors:
        try:
            out["email"] = normalize_email(out["email"])[0]
        except ValueError:
            errors["email"] = ["Enter a valid e-mail address."]
    if errors:
        raise ValidationFailed("The form has problems.", errors=errors)
    return out


def web_form_submit(*, form: WebForm, data: dict[str, Any]) -> Case:
    cleaned = _clean(data)
    actor = Actor(user=None, via=Via.AUTOMATION, context={"path": "web form", "web_form": form.pk})
    with transaction.atomic():
        contact_id = (
            ContactEmail.objects.filter(email=cleaned["email"])
            .order_by("contact_id")
            .values_list("contact_id", flat=True)
            .first()
        )
        if contact_id is None:
            contact_id = customers.contact_create(
                actor=actor,
                data={"full_name": cleaned["name"], "source": f"web form {form.name}"[:100]},
                parts=ContactParts(emails=[{"email": cleaned["email"]}]),
            ).pk
        return services.case_create(
            actor=actor,
            data={
                "contact": contact_id,
                "subject": cleaned["subject"],
                "description": cleaned["message"],
                "kind": form.kind.key if form.kind else "inquiry",
                "channel": Case.Channel.WEB_FORM,
                "team": form.team_id,
                "owner": None,
            },
            inbound_message={
                "subject": cleaned["subject"],
                "body": cleaned["message"],
                "from_address": cleaned["email"],
                "channel": CaseMessage.Channel.WEB_FORM,
            },
        )
