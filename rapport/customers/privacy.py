"""What the customer master holds about a person, for export and erasure (rapport.core.privacy).

Export: the contact's fields (data-dictionary values included), e-mail addresses, phone
numbers, postal addresses, ids in other systems and places at accounts.

Erasure deletes the contact and its parts (the rows cascade: e-mails, phones, addresses,
external ids, memberships, search tokens) and takes the person's name words out of the
search vocabulary (``SearchVariant``) when no other contact or account uses them, so not
even a typo-search index keeps their name. It runs after every other handler
(``ORDER_RECORD``): they read and clean what points at the contact before the rows that
point at it cascade away. The accounts they belonged to stay: they are the organisation's.

``contact_values`` is the customer master's source of the person's identifying values
(``privacy.register_values``): what the erasure looks for in text that holds them without
the contact's id (a rejected import row, a shared e-mail, an audit entry).
"""

from __future__ import annotations

from typing import Any

from rapport.audit.services import plain
from rapport.core import privacy
from rapport.customers import search_index
from rapport.customers.models import (
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    DataField,
    SearchToken,
    SearchVariant,
)

CONTACT_FIELDS = (
    "id", "prefix", "given_name", "middle_name", "family_name", "suffix", "full_name",
    "job_title", "department", "preferred_channel", "language", "time_zone", "source",
    "lifecycle", "custom", "created_at", "updated_at",
)  # fmt: skip
EMAIL_FIELDS = ("email", "kind", "is_primary", "source", "created_at")
PHONE_FIELDS = ("e164", "raw", "extension", "kind", "is_primary", "source", "created_at")
ADDRESS_FIELDS = (
    "kind", "street", "city", "region", "postal_code", "country", "is_primary", "source",
)  # fmt: skip
MEMBERSHIP_FIELDS = (
    "account_id", "account__name", "is_primary", "job_title", "buying_role", "rank",
    "started_on", "ended_on",
)  # fmt: skip


def _rows(qs: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in qs.order_by("id").values(*fields)]


def contact_export(*, contact_id: int) -> dict[str, Any]:
    contact = Contact.objects.filter(pk=contact_id).values(*CONTACT_FIELDS).first()
    return {
        "contact": {k: plain(v) for k, v in contact.items()} if contact else None,
        "tags": sorted(
            Contact.tags.through.objects.filter(contact_id=contact_id).values_list(
                "tag__name", flat=True
            )
        ),
        "emails": _rows(ContactEmail.objects.filter(contact_id=contact_id), EMAIL_FIELDS),
        "phones": _rows(ContactPhone.objects.filter(contact_id=contact_id), PHONE_FIELDS),
        "addresses": _rows(ContactAddress.objects.filter(contact_id=contact_id), ADDRESS_FIELDS),
        "external_ids": _rows(
            ContactExternalId.objects.filter(contact_id=contact_id), ("source", "external_id")
        ),
        "memberships": _rows(
            AccountMembership.objects.filter(contact_id=contact_id), MEMBERSHIP_FIELDS
        ),
    }


def contact_erase(*, actor: Any, contact_id: int) -> int:
    tokens = set(SearchToken.objects.filter(contact_id=contact_id).values_list("token", flat=True))
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is not None:
        tokens |= search_index.contact_tokens(contact)
    changed = SearchToken.objects.filter(contact_id=contact_id).delete()[0]
    changed += Contact.objects.filter(pk=contact_id).delete()[0]
    # A name word nobody else has leaves the vocabulary with its typo variants.
    still_used = set(SearchToken.objects.filter(token__in=tokens).values_list("token", flat=True))
    gone = sorted(tokens - still_used)
    if gone:
        changed += SearchVariant.objects.filter(token__in=gone).delete()[0]
    return changed


def contact_values(contact_id: int) -> list[str]:
    """The person's name, identifying data-dictionary values, e-mail addresses, phone numbers, street lines and ids elsewhere."""
    values: list[str] = []
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is not None:
        # The name as a whole, never one word of it: another person shares a family name.
        given_family = f"{contact.given_name} {contact.family_name}"
        values += [contact.full_name, given_family, contact.sort_name]
        identifying = DataField.objects.filter(
            entity=DataField.Entity.CONTACT, is_identifying=True
        ).values_list("key", flat=True)
        custom = contact.custom or {}
        values += [str(custom[k]) for k in identifying if custom.get(k) not in (None, "")]
    values += ContactEmail.objects.filter(contact_id=contact_id).values_list("email", flat=True)
    for e164, raw in ContactPhone.objects.filter(contact_id=contact_id).values_list("e164", "raw"):
        values += [e164, raw, e164.lstrip("+")]
    values += ContactAddress.objects.filter(contact_id=contact_id).values_list("street", flat=True)
    values += ContactExternalId.objects.filter(contact_id=contact_id).values_list(
        "external_id", flat=True
    )
    return values


def register_all() -> None:
    privacy.register(
        "customers",
        export=contact_export,
        erase=contact_erase,
        models=(
            "customers.Contact", "customers.ContactEmail", "customers.ContactPhone",
            "customers.ContactAddress", "customers.ContactExternalId",
            "customers.AccountMembership", "customers.SearchToken",
        ),
        order=privacy.ORDER_RECORD,
    )  # fmt: skip
    privacy.register_values(contact_values)
