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
from rapport.identity.registry import Derived, Relation, Values, register

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
