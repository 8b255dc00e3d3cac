"""Matching a file's column headers to contact fields, automatically.

A header is folded (case, accents, punctuation) and looked up among each field's known
names in several languages; failing that, a close spelling (rapidfuzz) is accepted. Every
suggestion says how it was found, so the person reviewing the mapping knows what to check.
The user can change any of it; a saved mapping replaces the suggestion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from rapport.customers.normalize import fold

# target -> names a header may use for it (folded, words separated by one space)
CONTACT_TARGETS: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "full name", "contact", "contact name", "nom complet", "vollstandiger name", "nombre completo", "naam"),
    "prefix": ("prefix", "salutation", "honorific", "civilite", "anrede", "tratamiento", "aanhef"),
    "given_name": ("first name", "given name", "firstname", "forename", "prenom", "vorname", "nombre", "voornaam", "nome"),
    "middle_name": ("middle name", "middle names", "middle initial", "second name"),
    "family_name": ("last name", "surname", "family name", "lastname", "nom", "nom de famille", "nachname", "apellido", "apellidos", "achternaam", "cognome"),
    "suffix": ("suffix", "name suffix"),
    "job_title": ("job title", "title", "position", "role", "job", "fonction", "poste", "berufsbezeichnung", "position title", "cargo", "functie"),
    "department": ("department", "dept", "division", "service", "abteilung", "departamento", "afdeling"),
    "email": ("email", "e mail", "email address", "e mail address", "mail", "courriel", "correo", "correo electronico", "work email"),
    "email_2": ("email 2", "second email", "other email", "personal email", "private email", "home email"),
    "phone": ("phone", "telephone", "tel", "phone number", "work phone", "business phone", "office phone", "telefon", "telefono", "telefoon"),
    "mobile": ("mobile", "mobile phone", "cell", "cell phone", "cellphone", "portable", "handy", "movil", "mobiel"),
    "street": ("street", "address", "address 1", "address line 1", "street address", "adresse", "strasse", "direccion", "adres"),
    "city": ("city", "town", "ville", "stadt", "ort", "ciudad", "plaats", "citta"),
    "region": ("region", "state", "county", "province", "bundesland", "provincia", "provincie"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "code postal", "plz", "postleitzahl", "codigo postal", "cap"),
    "country": ("country", "pays", "land", "pais", "paese", "country code"),
    "language": ("language", "preferred language", "langue", "sprache", "idioma", "taal"),
    "time_zone": ("time zone", "timezone", "tz"),
    "preferred_channel": ("preferred channel", "contact preference", "preferred contact method"),
    "lifecycle": ("lifecycle", "lifecycle stage", "stage", "status", "lead status"),
    "source": ("source", "lead source", "origin", "herkunft", "origen"),
    "tags": ("tags", "labels", "keywords", "segments"),
    "account.name": ("company", "organisation", "organization", "account", "account name", "company name", "employer", "societe", "entreprise", "firma", "unternehmen", "empresa", "bedrijf", "azienda"),
    "account.domain": ("website", "web site", "domain", "company website", "url", "site web", "webseite"),
    "account.external_id": ("account id", "company id", "account external id"),
    "external_id": ("id", "external id", "contact id", "record id", "customer id", "customer number", "crm id"),
    # The columns of Rapport's own export, so that an export re-imports as it is.
    "emails": ("emails", "email addresses"),
    "phones": ("phones", "phone numbers"),
    "owner": ("owner", "contact owner", "record owner", "account owner"),
    "external_ids": ("external ids",),
    "account_id": ("account id rapport", "rapport account id"),
}

ACCOUNT_TARGETS: dict[str, tuple[str, ...]] = {
    "name": ("name", "company", "company name", "account", "account name", "organisation", "organization", "societe", "firma", "empresa", "bedrijf"),
    "legal_name": ("legal name", "registered name", "raison sociale"),
    "domain": ("website", "web site", "domain", "url", "site web", "webseite"),
    "domains": ("domains",),
    "industry": ("industry", "sector", "branche", "secteur"),
    "size": ("size", "employees", "company size", "headcount"),
    "country": ("country", "pays", "land", "pais", "country code"),
    "phone": ("phone", "telephone", "tel", "main phone", "switchboard"),
    "street": ("street", "address", "address 1", "street address", "adresse"),
    "city": ("city", "town", "ville", "stadt"),
    "region": ("region", "state", "county", "province"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "plz"),
    "lifecycle": ("lifecycle", "lifecycle stage", "stage", "status"),
    "owner": ("owner", "account owner"),
    "tags": ("tags", "labels"),
    "notes": ("notes", "description", "comments"),
    "external_id": ("id", "external id", "account id", "company id", "crm id", "customer number"),
    "external_ids": ("external ids",),
}

# What ``id`` means in a file that came out of Rapport's own export: the record's own id.
RAPPORT_EXPORT_MARKERS = {"external ids", "created at", "updated at"}

FUZZY_THRESHOLD = 88


@dataclass(frozen=True)
class Suggestion:
    header: str
    target: str | None
    how: str  # "name", "close spelling", "data dictionary" or "no match"
    score: int


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


def targets_for(kind: str) -> dict[str, tuple[str, ...]]:
    """The targets of a kind of import: the engine's own, or a registered kind's."""
    from rapport.ingest.imports import kinds

    found = kinds.get(kind)
    if found is not None:
        return found.targets
    return ACCOUNT_TARGETS if kind == "accounts" else CONTACT_TARGETS


def suggest_mapping(
    headers: list[str], *, datafields: dict[str, str] | None = None, kind: str = "contacts"
) -> list[Suggestion]:
    """A target for each header, each target used at most once (first header wins).

    ``datafields`` maps data-dictionary keys to their labels; they match by key or label.
    A file from Rapport's own export maps its ``id`` to the record's id, so it re-imports
    onto the same records.
    """
    names: dict[str, str] = {}
    keys = {_key(h) for h in headers}
    if keys >= RAPPORT_EXPORT_MARKERS:
        names["id"] = "id"
        names["account id"] = "account_id"
        names["created at"] = names["updated at"] = "ignore"
    for name, aliases in targets_for(kind).items():
        for alias in aliases:
            names.setdefault(alias, name)
    for key, label in (datafields or {}).items():
        names.setdefault(_key(key), f"custom.{key}")
        names.setdefault(_key(label), f"custom.{key}")
    used: set[str] = set()
    out: list[Suggestion] = []
    choices = list(names)
    for header in headers:
        key = _key(header)
        target: str | None = names.get(key)
        how, score = "name", 100
        if target is None and key:
            match = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
            if match is not None:
                target, how, score = names[match[0]], "close spelling", int(match[1])
        if target is not None and target.startswith("custom."):
            how = "data dictionary" if how == "name" else how
        if target == "ignore":
            out.append(Suggestion(header, None, "not imported", 0))
            continue
        if target is None or target in used:
            out.append(Suggestion(header, None, "no match" if target is None else "already mapped", 0))
            continue
        used.add(target)
        out.append(Suggestion(header, target, how, score))
    return out
