"""Scoring pairs with the fitted model, and the duplicate check before a record is created.

The check finds a few likely records with indexed lookups (the same e-mail address, the
same phone number, the same family name with a compatible given name), then scores each
with the model the last full scan fitted. It never scans the table: its cost depends on
how many records share a name, not on how many records there are.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from rapport.customers import normalize
from rapport.customers.models import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    ContactPhone,
    SearchToken,
)
from rapport.identity import load
from rapport.identity import model as fs
from rapport.identity.blocking import Organisation, Person
from rapport.identity.compare import (
    ACCOUNT_VECTOR_FIELDS,
    LEGACY_VECTOR_FIELDS,
    VECTOR_FIELDS,
    Level,
    account_vector,
    contact_fields,
    contact_vector,
    describe,
    is_identifying,
    name_forms,
)
from rapport.identity.models import Kind, MatchSettings, NotDuplicate
from rapport.users import permissions
from rapport.users.models import RecordKind

_PER_KEY = 200  # records read per lookup of an e-mail, a phone or an account name
# Records read per name lookup: "Margaret Williams" is hundreds of people in a million;
# the ones that also share an e-mail or a phone come from those lookups anyway.
_PER_NAME = 50
# The swapped lookup (family name typed as given) runs when the name as written found fewer.
_SWAP_AFTER = 20


@dataclass
class Evidence:
    field: str
    level: int
    weight: float
    words: str


@dataclass
class Match:
    kind: str
    record_id: int
    probability: float
    score: float
    vector: list[int]
    evidence: list[Evidence] = field(default_factory=list)
    label: str = ""
    detail: str = ""

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


def identifying_fields() -> list[tuple[str, str]]:
    """(comparison field, label) of each identifying contact data field, sorted."""
    return load.identifying_fields("contact", labels=True)


def fields_of(kind: str) -> tuple[str, ...]:
    """The comparison fields of a kind: a contact's, then one per identifying
    data-dictionary field."""
    if kind == Kind.CONTACT:
        return contact_fields(name for name, _ in identifying_fields())
    return tuple(ACCOUNT_VECTOR_FIELDS)


def vector_of(kind: str, a: Any, b: Any, model: fs.Model | None = None) -> tuple[int, ...]:
    """The comparison vector, in the model's fields; a contact's names are weighed by how
    rare they are in the table the model was fitted with."""
    if kind == Kind.CONTACT:
        fields = model.fields if model is not None else fields_of(kind)
        return tuple(
            contact_vector(
                a,
                b,
                model.frequencies if model is not None else None,
                identifying=fields[len(VECTOR_FIELDS) :],
            )
        )
    return tuple(account_vector(a, b))


_MODEL_COLUMNS = ("contact_model", "account_model")
# Fitted models parsed once per process: (settings id, version, saved at) -> kind -> model. The
# stored model holds the name frequency table (hundreds of kilobytes of JSON), too much
# to read and parse for every check before a create.
_models: dict[tuple[Any, ...], dict[str, fs.Model]] = {}


def match_settings() -> MatchSettings:
    """The thresholds and rules, without the stored models (see ``current_model``)."""
    return MatchSettings.objects.defer(*_MODEL_COLUMNS).order_by("pk").first() or MatchSettings()


def current_model(kind: str, conf: MatchSettings | None = None) -> fs.Model:
    """The model the last full scan fitted, or a cautious default before any scan; in the
    comparison fields of today's data dictionary (one query for its identifying fields),
    which names them to the steward (``Model.labels``)."""
    conf = conf or match_settings()
    identifying = identifying_fields() if kind == Kind.CONTACT else []
    fields = (
        list(contact_fields(name for name, _ in identifying))
        if kind == Kind.CONTACT
        else list(ACCOUNT_VECTOR_FIELDS)
    )
    if conf.pk is None:
        model = cold_start(kind, fields)
        model.labels = {name: label.lower() for name, label in identifying}
        return model
    key = (conf.pk, conf.version, conf.updated_at, tuple(identifying))
    cached = _models.get(key, {}).get(kind)
    if cached is not None:
        return cached
    column = "contact_model" if kind == Kind.CONTACT else "account_model"
    stored = MatchSettings.objects.filter(pk=conf.pk).values_list(column, flat=True).first()
    if not stored or stored.get("fields") == list(LEGACY_VECTOR_FIELDS):
        # None yet, or one fitted before identifying fields were compared one by one (and
        # the prior meant another thing): the starting weights until the next full scan.
        model = cold_start(kind, fields)
    else:
        model = fs.Model.from_json(stored)
        if model.fields != fields:
            # The data dictionary gained or lost an identifying field since the scan: the
            # fitted weights of the others, starting weights for a new one.
            model = fs.with_fields(model, fields)
    model.labels = {name: label.lower() for name, label in identifying}
    if len(_models) > 4:
        _models.clear()
    _models.setdefault(key, {})[kind] = model
    return model


# Values a person has several of, or changes with a job: that two records differ in one
# is weak evidence against a match (unlike a different family name).
_OFTEN_DIFFERENT = {"email", "phone", "organisation", "address", "domain"}


def cold_start(kind: str, fields: Any = None) -> fs.Model:
    """The model before any full scan has fitted one (or after the comparison fields
    changed): EM's starting values, with a different e-mail, phone, employer or address
    counting mildly against a match, as such values differ between duplicates often."""
    model = fs.default_model(list(fields if fields is not None else fields_of(kind)))
    for i, name in enumerate(model.fields):
        if name in _OFTEN_DIFFERENT and Level.DIFFERENT in model.m[i]:
            model.m[i][Level.DIFFERENT] = 0.3
            total = sum(model.m[i].values())
            model.m[i] = {lv: p / total for lv, p in model.m[i].items()}
    return model


def in_fields_of(model: fs.Model, vector: tuple[int, ...]) -> tuple[int, ...]:
    """A stored vector in the model's fields: one kept before the identifying fields were
    compared one by one, or before the data dictionary changed, has its common fields
    kept and the others missing."""
    if len(vector) == len(model.fields):
        return tuple(vector)
    if len(vector) == len(LEGACY_VECTOR_FIELDS) and model.fields[0] == LEGACY_VECTOR_FIELDS[0]:
        old = dict(zip(LEGACY_VECTOR_FIELDS, vector, strict=True))
    else:  # the fields every contact vector starts with, the identifying ones unknown
        old = dict(
            zip(model.fields[: len(VECTOR_FIELDS)], vector[: len(VECTOR_FIELDS)], strict=False)
        )
    return tuple(int(old.get(name, Level.MISSING)) for name in model.fields)


def explain(
    kind: str, model: fs.Model, vector: tuple[int, ...], disabled: list[str] | None = None
) -> list[Evidence]:
    """Each field's level, weight and what it means, in the steward's words, strongest
    evidence first (fields the admin turned off left out)."""
    vector = in_fields_of(model, vector)
    names = model.fields
    weights = model.weights(vector)
    off = _disabled_positions(names, disabled or [])
    labels = model.labels
    out = []
    for i, level in enumerate(vector):
        if i in off:
            continue
        out.append(
            Evidence(
                names[i],
                int(level),
                round(weights[i], 2),
                describe(names[i], int(level), labels.get(names[i], "")),
            )
        )
    return sorted(out, key=lambda e: -abs(e.weight))


def _disabled_positions(names: Any, disabled: list[str]) -> set[int]:
    # "identifier" (the settings' switch for identifying custom fields) turns off all of them.
    every_identifying = "identifier" in disabled
    return {
        i
        for i, name in enumerate(names)
        if name in disabled or (every_identifying and is_identifying(name))
    }


def masked(
    vector: tuple[int, ...], kind: str, disabled: list[str], fields: Any = None
) -> tuple[int, ...]:
    """A field the admin turned off counts as missing: no evidence either way.
    "identifier" (the settings' switch for identifying custom fields) turns off every
    identifying field, which follow a contact's other fields; with ``fields`` (the
    vector's), one may be turned off by its name too."""
    if not disabled:
        return vector
    if fields is None:
        fields = VECTOR_FIELDS if kind == Kind.CONTACT else ACCOUNT_VECTOR_FIELDS
        if kind == Kind.CONTACT and len(vector) > len(fields):
            fields = (*fields, *("id:" for _ in range(len(vector) - len(fields))))
    off = _disabled_positions(fields, disabled)
    return tuple(-1 if i in off else lv for i, lv in enumerate(vector))


def score(
    kind: str, model: fs.Model, a: Any, b: Any, disabled: list[str] | None = None
) -> tuple[float, float, tuple[int, ...]]:
    vector = masked(vector_of(kind, a, b, model), kind, disabled or [], model.fields)
    return model.probability(vector), model.score(vector), vector


# --- the probe: a payload as matching sees it -------------------------------------------


def _strings(values: Any, key: str) -> list[str]:
    out = []
    for v in values or []:
        v = v.get(key) if isinstance(v, dict) else v
        if v:
            out.append(str(v))
    return out


def person_of(data: dict[str, Any], typed: list[tuple[str, str]] | None = None) -> Person:
    given, family = str(data.get("given_name") or ""), str(data.get("family_name") or "")
    if not (given or family) and data.get("full_name"):
        parts = normalize.parse_full_name(str(data["full_name"]))
        given, family = parts.get("given_name", ""), parts.get("family_name", "")
    emails = []
    for e in _strings(data.get("emails"), "email"):
        try:
            emails.append(normalize.normalize_email(e)[0])
        except ValueError:
            continue
    phones = []
    for p in _strings(data.get("phones"), "number"):
        try:
            phones.append(normalize.normalize_phone(p, data.get("region"))[0])
        except ValueError:
            # An international number phonenumbers does not know (a new range): its digits.
            digits = "".join(c for c in p if c.isdigit())
            if p.strip().startswith(("+", "00")) and len(digits) >= 8:
                phones.append("+" + digits.removeprefix("00"))
    organisation = str(data.get("organisation") or "")
    if not organisation and data.get("account"):
        organisation = (
            Account.objects.filter(pk=data["account"]).values_list("name", flat=True).first() or ""
        )
    custom = data.get("custom") or {}
    if typed is None:
        typed = load.identifying_keys("contact", typed=True)
    identifiers = load.identifying_values(custom, typed)
    return Person(
        given=given,
        family=family,
        emails=tuple(emails),
        phones=tuple(phones),
        organisation=organisation,
        address=str(data.get("address") or ""),
        identifiers=identifiers,
    )


def organisation_of(data: dict[str, Any]) -> Organisation:
    domains = []
    for d in _strings(data.get("domains"), "domain"):
        try:
            domains.append(normalize.normalize_domain(d))
        except ValueError:
            continue
    phones = []
    if data.get("phone"):
        with contextlib.suppress(ValueError):
            phones.append(
                normalize.normalize_phone(str(data["phone"]), data.get("country") or None)[0]
            )
    return Organisation(
        name=str(data.get("name") or ""),
        domains=tuple(domains),
        phones=tuple(phones),
        address=str(data.get("address") or ""),
    )


# --- candidate lookup -------------------------------------------------------------------


def _token_ids(tokens: set[str], limit: int) -> set[int]:
    if not tokens:
        return set()
    return set(
        SearchToken.objects.filter(token__in=sorted(tokens), contact__isnull=False).values_list(
            "contact_id", flat=True
        )[:limit]
    )


def _sort_name_ids(family: str, givens: set[str], limit: int) -> set[int]:
    """Contacts whose sort name ("family given", folded) starts with the family name and
    one of ``givens``: a range of the sort-name index each, so "John Smith" among a
    million reads the few dozen John Smiths, not the postings of every Smith and every
    John (the token lookup below, 5 to 10 ms of the database's time for such a name)."""
    family_key = normalize.fold(" ".join(family.split()))
    if not family_key:
        return set()
    ranges = Q()
    for given in sorted({normalize.fold(g) for g in givens if g}):
        start = f"{family_key} {given}"
        ranges |= Q(sort_name__gte=start, sort_name__lt=start + "\uffff")
    if not ranges:
        return set()
    return set(Contact.objects.filter(ranges).values_list("pk", flat=True)[:limit])


def contact_ids_like(p: Person) -> set[int]:
    """Contacts sharing an e-mail, a phone, or a family name and a compatible given name."""
    ids: set[int] = set()
    if p.emails:
        ids |= set(
            ContactEmail.objects.filter(email__in=p.emails).values_list("contact_id", flat=True)[
                :_PER_KEY
            ]
        )
    if p.phones:
        ids |= set(
            ContactPhone.objects.filter(e164__in=p.phones).values_list("contact_id", flat=True)[
                :_PER_KEY
            ]
        )
    named = 0
    for swapped, (given, family) in enumerate(((p.given, p.family), (p.family, p.given))):
        if swapped and named >= _SWAP_AFTER:
            break  # a common name as written: looking it up the other way round costs most
        # The family name's longest word: "van der Kint" is looked up by "kint", not by the
        # particles a hundred thousand people share.
        family_words = sorted(normalize.words(family), key=len)
        family_tokens = set(family_words[-1:])
        if not family_tokens or not given:
            continue
        given_tokens = set(normalize.words(given))
        for word in list(given_tokens):
            given_tokens |= set(name_forms(word))
        # The given name as written first, then its forms: sixty Jack Smiths must not
        # hide the one John Smith.
        own = set(normalize.words(given))
        found = _sort_name_ids(family, own, _PER_NAME)
        if len(found) < _PER_NAME:
            found |= _sort_name_ids(family, given_tokens - own, _PER_NAME - len(found))
        if len(found) < _SWAP_AFTER:
            # Few written this way: any record with the family name's longest word and a
            # given name's word or form (a double-barrelled or reordered name).
            with_family = SearchToken.objects.filter(
                token__in=sorted(family_tokens), contact__isnull=False
            ).values("contact_id")
            found |= set(
                SearchToken.objects.filter(
                    token__in=sorted(given_tokens), contact_id__in=with_family
                ).values_list("contact_id", flat=True)[:_PER_NAME]
            )
        named += len(found)
        ids |= found
    if bool(p.given) != bool(p.family):
        # One name only: the records having it, as given or family name (its longest word,
        # through the token index, a few read), as the scan's one-name blocks compare them.
        only = sorted(normalize.words(p.given or p.family), key=len)[-1:]
        ids |= _token_ids(set(only), _PER_NAME)
    return ids


def account_ids_like(o: Organisation) -> set[int]:
    ids: set[int] = set()
    if o.domains:
        ids |= set(
            AccountDomain.objects.filter(domain__in=o.domains).values_list("account_id", flat=True)[
                :_PER_KEY
            ]
        )
    name = normalize.normalize_org_name(o.name)
    if name:
        ids |= set(
            Account.objects.filter(normalized_name=name).values_list("pk", flat=True)[:_PER_KEY]
        )
        first = name.split()[0]
        if len(first) >= 3:
            ids |= set(
                SearchToken.objects.filter(token=first, account__isnull=False).values_list(
                    "account_id", flat=True
                )[:_PER_KEY]
            )
    if o.phones:
        ids |= set(
            Account.objects.filter(phone__in=o.phones).values_list("pk", flat=True)[:_PER_KEY]
        )
    return ids


def _labels(kind: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    if kind == Kind.ACCOUNT:
        return {
            pk: (name, "")
            for pk, name in Account.objects.filter(pk__in=ids).values_list("pk", "name")
        }
    out = {
        pk: (name or f"Contact {pk}", "")
        for pk, name in Contact.objects.filter(pk__in=ids).values_list("pk", "full_name")
    }
    for contact_id, account in Contact.accounts.through.objects.filter(
        contact_id__in=ids, is_primary=True
    ).values_list("contact_id", "account__name"):
        if contact_id in out:
            out[contact_id] = (out[contact_id][0], account)
    return out


def _ranked(
    *,
    actor: Any,
    kind: str,
    probe: Any,
    ids: set[int],
    exclude: int | None,
    limit: int,
    typed: list[tuple[str, str]] | None = None,
) -> list[Match]:
    """Score the records ``ids`` the actor may see against ``probe``; the likely ones, best first."""
    conf = match_settings()
    model = current_model(kind, conf)
    if exclude is not None:
        ids = ids - {exclude}
        dismissed = NotDuplicate.objects.filter(kind=kind).filter(
            Q(left_id=exclude) | Q(right_id=exclude)
        )
        ids -= {a if b == exclude else b for a, b in dismissed.values_list("left_id", "right_id")}
    record_kind = RecordKind.CONTACT if kind == Kind.CONTACT else RecordKind.ACCOUNT
    model_cls = Contact if kind == Kind.CONTACT else Account
    visible = set(
        permissions.visible(actor, record_kind, model_cls.objects.filter(pk__in=ids)).values_list(
            "pk", flat=True
        )
    )
    loaded = dict(
        load.people(visible, typed=typed) if kind == Kind.CONTACT else load.organisations(visible)
    )
    matches = []
    for other, data in loaded.items():
        probability, bits, vector = score(kind, model, probe, data, conf.disabled_fields)
        if probability >= conf.lower:
            matches.append(
                Match(
                    kind,
                    other,
                    probability,
                    bits,
                    list(vector),
                    explain(kind, model, vector, conf.disabled_fields),
                )
            )
    matches.sort(key=lambda m: (-m.probability, m.record_id))
    matches = matches[:limit]
    labels = _labels(kind, [m.record_id for m in matches])
    for m in matches:
        m.label, m.detail = labels.get(m.record_id, ("", ""))
    return matches


def _require_view(actor: Any, kind: str) -> None:
    permissions.require(
        actor, "view", RecordKind.CONTACT if kind == Kind.CONTACT else RecordKind.ACCOUNT
    )


def duplicates_check(
    *, actor: Any, kind: str, data: dict[str, Any], exclude: int | None = None, limit: int = 5
) -> list[Match]:
    """Records the actor may see that are likely the one ``data`` describes, best first
    (probability at or above the review threshold). ``data`` is a create payload: names,
    ``emails``, ``phones``, ``organisation`` or ``account``, ``address``, ``custom``; for
    an account ``name``, ``domains``, ``phone``, ``address``."""
    _require_view(actor, kind)
    if kind == Kind.CONTACT:
        typed = load.identifying_keys("contact", typed=True)
        person = person_of(data, typed)
        return _ranked(
            actor=actor,
            kind=kind,
            probe=person,
            ids=contact_ids_like(person),
            exclude=exclude,
            limit=limit,
            typed=typed,
        )
    org = organisation_of(data)
    return _ranked(
        actor=actor, kind=kind, probe=org, ids=account_ids_like(org), exclude=exclude, limit=limit
    )


def record_data(kind: str, pk: int) -> Any:
    """The stored record ``pk`` as matching sees it (None if it does not exist)."""
    found = dict(load.people([pk]) if kind == Kind.CONTACT else load.organisations([pk]))
    return found.get(pk)


def similar_to_record(*, actor: Any, kind: str, pk: int, limit: int = 10) -> list[Match]:
    """Records likely the same as the stored record ``pk``, scored now."""
    _require_view(actor, kind)
    record = record_data(kind, pk)
    if record is None:
        return []
    ids = contact_ids_like(record) if kind == Kind.CONTACT else account_ids_like(record)
    return _ranked(actor=actor, kind=kind, probe=record, ids=ids, exclude=pk, limit=limit)


def likely_existing(person: Person, *, at_least: float | None = None) -> int | None:
    """The one stored contact ``person`` near-certainly is (probability at or above the
    automatic threshold, or ``at_least``), for imports set to match likely duplicates.
    No permission filter: the caller refuses a match its user may not change."""
    conf = match_settings()
    threshold = conf.upper if at_least is None else at_least
    model = current_model(Kind.CONTACT, conf)
    best: tuple[float, int] | None = None
    for pk, stored in load.people(contact_ids_like(person)):
        probability, _, _ = score(Kind.CONTACT, model, person, stored, conf.disabled_fields)
        if probability >= threshold and (best is None or probability > best[0]):
            best = (probability, pk)
    return best[1] if best else None
