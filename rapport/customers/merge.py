"""How the customer master's own rows move when records are merged (see identity.registry)."""

from __future__ import annotations

from rapport.customers import search_index
from rapport.customers.models import (
    Account,
    AccountAddress,
    AccountDomain,
    AccountExternalId,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    SearchToken,
)
from rapport.identity.registry import REGISTRY, Derived, Relation, Values, register

_MEMBERSHIP_DETAILS = ("job_title", "buying_role", "rank", "started_on", "ended_on")


def _fill_membership(survivor: Values, merged: Values) -> Values:
    """The survivor's membership at an account keeps its values and takes what it lacks."""
    return {
        k: merged[k]
        for k in _MEMBERSHIP_DETAILS
        if survivor[k] in ("", None) and merged[k] not in ("", None)
    }


def _fill_account_membership(survivor: Values, merged: Values) -> Values:
    # Two accounts became one: a person primary at the merged-away one is primary at it.
    updates = _fill_membership(survivor, merged)
    if merged["is_primary"] and not survivor["is_primary"]:
        updates["is_primary"] = True
    return updates


def _rebuild_search(kind: str, ids: list[int]) -> None:
    if kind == "contact":
        for contact in Contact.objects.filter(pk__in=ids):
            search_index.index_contact(contact)
    else:
        for account in Account.objects.filter(pk__in=ids):
            search_index.index_account(account)


# A customer outranks a prospect in the review queue; deals and revenue add to this later.
_LIFECYCLE_VALUE = {
    "customer": 4.0,
    "former_customer": 2.0,
    "prospect": 2.0,
    "lead": 1.0,
    "subscriber": 0.5,
}


def _lifecycle_value(kind: str, ids: list[int]) -> dict[int, float]:
    model = Contact if kind == "contact" else Account
    out: dict[int, float] = {}
    for i in range(0, len(ids), 900):
        for pk, lifecycle in model.objects.filter(pk__in=ids[i : i + 900]).values_list(
            "pk", "lifecycle"
        ):
            out[pk] = _LIFECYCLE_VALUE.get(lifecycle, 0.0)
    return out


def register_all() -> None:
    contact_tags = Contact.tags.through
    account_tags = Account.tags.through
    for relation in (
        Relation(
            ContactEmail, "contact", "contact", unique_with=("email",), exclusive=("is_primary",)
        ),
        Relation(
            ContactPhone, "contact", "contact", unique_with=("e164",), exclusive=("is_primary",)
        ),
        Relation(ContactAddress, "contact", "contact", exclusive=("is_primary",)),
        Relation(ContactExternalId, "contact", "contact"),
        Relation(contact_tags, "contact", "contact", unique_with=("tag",), label="contact tags"),
        Relation(
            AccountMembership,
            "contact",
            "contact",
            unique_with=("account",),
            exclusive=("is_primary",),
            combine=_fill_membership,
        ),
        Relation(AccountDomain, "account", "account"),
        Relation(AccountAddress, "account", "account", exclusive=("is_primary",)),
        Relation(AccountExternalId, "account", "account"),
        Relation(account_tags, "account", "account", unique_with=("tag",), label="account tags"),
        Relation(
            AccountMembership,
            "account",
            "account",
            unique_with=("contact",),
            combine=_fill_account_membership,
            label="account people",
        ),
        Relation(Account, "parent", "account", label="subsidiaries"),
    ):
        register(relation)
    register(Derived(SearchToken, ("contact", "account"), _rebuild_search))
    REGISTRY.register_value(_lifecycle_value)
