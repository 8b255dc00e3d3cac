"""Keeping the global search's name index current (see SearchToken and SearchVariant)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django.db.models import F
from nicknames import NickNamer

from rapport.core.bulk import BulkWriter
from rapport.customers.models import Account, Contact, SearchToken, SearchVariant
from rapport.customers.normalize import normalize_org_name, words


def deletions(token: str) -> set[str]:
    """The token and every string one deleted letter away from it (for words of 3+ letters)."""
    if len(token) < 3:
        return {token}
    return {token} | {token[:i] + token[i + 1 :] for i in range(len(token))}


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def nickname_forms(word: str) -> frozenset[str]:
    """The given names a folded name word stands for or is short for, as index tokens
    ('bob' -> robert, rob, bobby, bert). A search looks them up in the token index like the
    word itself: nothing is stored for them, and no name is scanned."""
    namer = _namer()
    forms = namer.canonicals_of(word) | namer.nicknames_of(word)
    return frozenset(f for f in forms if words(f) == [f] and f != word)


def contact_tokens(contact: Contact) -> set[str]:
    return set(words(f"{contact.given_name} {contact.middle_name} {contact.family_name}"))


def account_tokens(account: Account) -> set[str]:
    return set(words(account.name)) | set(words(account.legal_name)) | set(
        normalize_org_name(account.name).split()
    )


def ensure_variants(tokens: Iterable[str]) -> None:
    """Add the deletion variants of tokens the vocabulary does not know yet."""
    tokens = set(tokens)
    if not tokens:
        return
    known: set[str] = set()
    token_list = sorted(tokens)
    for i in range(0, len(token_list), 900):
        chunk = token_list[i : i + 900]
        known |= set(
            # A known token has its own row (variant = token): one index probe per token.
            SearchVariant.objects.filter(variant__in=chunk, token=F("variant")).values_list(
                "token", flat=True
            )
        )
    rows = [(v, t) for t in sorted(tokens - known) for v in deletions(t)]
    BulkWriter().insert(SearchVariant, ("variant", "token"), rows, ignore_conflicts=True)


def index_contact(contact: Contact) -> None:
    tokens = contact_tokens(contact)
    SearchToken.objects.filter(contact=contact).delete()
    SearchToken.objects.bulk_create([SearchToken(token=t, contact=contact) for t in tokens])
    ensure_variants(tokens)


def index_account(account: Account) -> None:
    tokens = account_tokens(account)
    SearchToken.objects.filter(account=account).delete()
    SearchToken.objects.bulk_create([SearchToken(token=t, account=account) for t in tokens])
    ensure_variants(tokens)
