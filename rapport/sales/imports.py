"""Deals and leads from CSV/XLSX files, through the import engine (``ingest.imports.kinds``).

The engine reads, maps, batches, resumes, previews and keeps the rejected rows; each row
comes here and goes through the sales services (``deal_create``, ``deal_stage_change``,
``deal_role_add``, ``lead_create``, ``lead_update``), so an imported deal or lead obeys the
rules of the pages and the API, with its audit entries (*via import, row N*) and timeline
events.

**Deals** match their account among those the importer may see (Rapport id, external id of
the import's source, domain, then name; a new account is made when the import may create
accounts) and their people by e-mail (a primary contact, and more in a "contacts" column,
each with an optional role). A won or lost deal is made in the first open stage and moved
on the close date, so its history says when it closed. A row is the same deal as an
existing one by Rapport id, by the external id an earlier import of the source kept, or by
its name on the same account: importing a file twice adds nothing.

**Leads** run the one duplicate check (in ``lead_create``): a known person's lead is put on
their existing contact. A person who has an open lead already (by e-mail or contact) does
not get a second one: the row updates that lead (or is skipped, as the import says).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

from rapport.core.actor import Actor
from rapport.customers import normalize
from rapport.customers import services as customer_services
from rapport.customers.models import ContactEmail
from rapport.ingest.imports import kinds
from rapport.ingest.imports.kinds import Reject, RowDone, RowInput
from rapport.ingest.models import ImportRecord, OnMatch
from rapport.sales import selectors, services
from rapport.sales.models import Deal, DealRole, Lead, LostReason, Pipeline, Stage
from rapport.users import permissions
from rapport.users.models import RecordKind

DEAL_TARGETS: dict[str, tuple[str, ...]] = {
    "name": ("name", "deal", "deal name", "opportunity", "opportunity name", "title", "nom", "affaire", "geschaft", "oportunidad", "kans"),
    "amount": ("amount", "value", "deal value", "deal amount", "revenue", "montant", "betrag", "importe", "bedrag", "valore"),
    "currency": ("currency", "devise", "wahrung", "moneda", "valuta"),
    "expected_close": ("expected close", "close date", "expected close date", "closing date", "close", "date de cloture", "abschlussdatum", "fecha de cierre"),
    "created_on": ("created", "created on", "created date", "date created", "open date", "opened"),
    "pipeline": ("pipeline",),
    "stage": ("stage", "deal stage", "sales stage", "phase", "etape", "status"),
    "lost_reason": ("lost reason", "reason lost", "loss reason", "closed lost reason"),
    "forecast_category": ("forecast category", "forecast"),
    "owner": ("owner", "deal owner", "sales rep", "rep", "salesperson"),
    "source": ("source", "lead source", "origin"),
    "description": ("description", "notes", "comments", "details"),
    "external_id": ("id", "external id", "deal id", "opportunity id", "crm id", "record id"),
    "account.name": ("company", "account", "account name", "organisation", "organization", "company name", "customer", "societe", "firma", "empresa", "bedrijf"),
    "account.domain": ("website", "domain", "company website", "web site", "url"),
    "account.external_id": ("account id", "company id", "account external id", "customer id"),
    "account_id": ("rapport account id",),
    "contact.email": ("contact email", "email", "e mail", "contact e mail", "primary contact email", "contact"),
    "contact.role": ("contact role", "role", "buying role"),
    "contacts": ("contacts", "people", "stakeholders", "other contacts"),
}  # fmt: skip
DEAL_LABELS = {
    "name": "Deal name",
    "expected_close": "Expected close (or close) date",
    "created_on": "Created on",
    "stage": "Stage (by name)",
    "pipeline": "Pipeline (by name)",
    "lost_reason": "Lost reason (by name)",
    "owner": "Owner (user name)",
    "external_id": "External id (in the source system)",
    "contact.email": "Contact: e-mail (primary)",
    "contact.role": "Contact: role on the deal",
    "contacts": "More contacts (e-mail:role; …)",
}
LEAD_TARGETS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "contact", "contact name", "lead", "lead name", "nom complet", "naam"),
    "given_name": ("first name", "given name", "firstname", "prenom", "vorname", "nombre", "voornaam"),
    "family_name": ("last name", "surname", "family name", "lastname", "nom", "nachname", "apellido", "achternaam"),
    "email": ("email", "e mail", "email address", "mail", "courriel", "correo"),
    "phone": ("phone", "telephone", "tel", "phone number", "mobile", "cell", "telefon", "telefono"),
    "company_name": ("company", "company name", "organisation", "organization", "account", "employer", "societe", "firma", "empresa", "bedrijf"),
    "country": ("country", "pays", "land", "pais", "country code"),
    "source": ("source", "lead source", "origin", "campaign"),
    "owner": ("owner", "lead owner", "sales rep", "rep"),
    "follow_up_on": ("follow up", "follow up on", "follow up date", "next step date", "callback"),
    "role": ("role", "job title", "title", "position"),
    "need": ("need", "needs", "interest", "requirement", "requirements"),
    "budget": ("budget",),
    "timing": ("timing", "timeframe", "time frame", "when"),
    "notes": ("notes", "comments", "description", "remarks"),
    "external_id": ("id", "external id", "lead id", "record id", "crm id"),
}  # fmt: skip
LEAD_LABELS = {
    "name": "Full name",
    "company_name": "Company",
    "role": "Their role in the decision",
    "follow_up_on": "Follow up on",
    "owner": "Owner (user name)",
    "external_id": "External id (in the source system)",
}
# Leads still open: not disqualified and not converted.
OPEN_LEAD = (Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED)


def _choice(value: str, choices: Any, target: str) -> str:
    """A choice given by its value or its label, any case ("Decision maker")."""
    key = normalize.fold(value).replace("_", " ").strip()
    for v, label in choices:
        if key in (normalize.fold(v).replace("_", " "), normalize.fold(str(label))):
            return v
    raise Reject(
        target, f"'{value}' is not one of: {', '.join(str(label) for _, label in choices)}."
    )


def _amount(row: RowInput) -> tuple[str | None, str]:
    """(amount text for the service, currency written beside it) of "€1,200.50", "1 200 EUR"."""
    text = row.values.get("amount", "")
    if not text:
        return None, ""
    code = re.search(r"\b([A-Za-z]{3})\b", text)
    number = re.sub(r"[^\d,.\-]", "", text)
    if "," in number and "." in number:
        number = (
            number.replace(",", "")
            if number.rfind(".") > number.rfind(",")
            else number.replace(".", "").replace(",", ".")
        )
    elif re.fullmatch(r"\d+,\d{2}", number):
        number = number.replace(",", ".")  # a decimal comma: 12,50
    else:
        number = number.replace(",", "")
    return number or text, code[1].upper() if code else ""


def _at(day: dt.date | None, *, default: dt.datetime) -> dt.datetime:
    """Noon of ``day`` (never later than now), or ``default``."""
    if day is None:
        return default
    moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    return min(moment, timezone.now())


# --- deals ---------------------------------------------------------------------------------


def _pipeline_stage(row: RowInput) -> tuple[Pipeline, Stage | None]:
    name = row.values.get("pipeline", "")
    if name:
        pipeline = Pipeline.objects.filter(name__iexact=name, is_active=True).first()
        if pipeline is None:
            raise Reject("pipeline", f"No active pipeline named '{name}'.")
    else:
        pipeline = services.default_pipeline()
    stage_name = row.values.get("stage", "")
    if not stage_name:
        return pipeline, None
    stages = list(pipeline.stages.filter(is_active=True))
    key = normalize.fold(stage_name)
    stage = next((s for s in stages if normalize.fold(s.name) == key), None)
    if stage is None:
        names = ", ".join(s.name for s in stages)
        raise Reject(
            "stage",
            f"No stage named '{stage_name}' in the pipeline {pipeline.name} (its stages: {names}).",
        )
    return pipeline, stage


def _people(row: RowInput) -> tuple[list[tuple[Any, str]], list[tuple[str, str]]]:
    """[(contact, role)] of the row, the primary first, and the field problems: an address
    no contact the importer may see has is left out (the deal is imported without them)."""
    wanted: list[tuple[str, str, str]] = []  # (target, e-mail, role)
    if row.values.get("contact.email"):
        role = row.values.get("contact.role", "")
        wanted.append(
            (
                "contact.email",
                row.values["contact.email"],
                _choice(role, DealRole.Role.choices, "contact.role")
                if role
                else DealRole.Role.DECISION_MAKER,
            )
        )
    elif row.values.get("contact.role"):
        raise Reject("contact.role", "A role needs the person's e-mail address (Contact: e-mail).")
    for item in re.split(r"[;\n]", row.values.get("contacts", "")):
        item = item.strip()
        if not item:
            continue
        address, _, role = item.rpartition(":") if ":" in item else (item, "", "")
        wanted.append(
            (
                "contacts",
                address.strip(),
                _choice(role.strip(), DealRole.Role.choices, "contacts")
                if role.strip()
                else DealRole.Role.INFLUENCER,
            )
        )
    people: list[tuple[Any, str]] = []
    problems: list[tuple[str, str]] = []
    for target, address, role in wanted:
        try:
            email = normalize.normalize_email(address)[0]
        except ValueError as exc:
            problems.append((target, str(exc)))
            continue
        contact = row.lookup.contact_by_email(email)
        if contact is None:
            problems.append(
                (
                    target,
                    f"No contact you can see has the address {email}; the deal is imported without them.",
                )
            )
        elif all(c.pk != contact.pk or r != role for c, r in people):
            people.append((contact, role))
    return people, problems


def _account(row: RowInput) -> tuple[Any, int]:
    """The deal's account and how many accounts were made for it (0 or 1)."""
    v = row.values
    raw_id = v.get("account_id", "")
    if raw_id and not raw_id.isdigit():
        raise Reject("account_id", "The account id is not a whole number.")
    xids = [(row.job.source, v["account.external_id"])] if v.get("account.external_id") else []
    domains = [v["account.domain"]] if v.get("account.domain") else []
    found = row.lookup.account(
        id=int(raw_id) if raw_id else None,
        external_ids=xids,
        domains=domains,
        name=v.get("account.name", ""),
    )
    if found is not None:
        return found, 0
    if raw_id:
        raise Reject("account_id", f"No account with id {raw_id}.")
    if not v.get("account.name"):
        raise Reject(
            "account.name", "A deal is on an account: give the account's name, domain or id."
        )
    if not row.job.create_accounts:
        raise Reject(
            "account.name",
            f"No account you can see is called '{v['account.name']}' (creating accounts is off for this import).",
        )
    made = customer_services.account_create(
        actor=row.actor, data={"name": v["account.name"]}, domains=domains,
        external_ids=[{"source": s, "external_id": x} for s, x in xids],
    )  # fmt: skip
    return made, 1


def _existing_deal(row: RowInput, account: Any) -> Deal | None:
    deals = selectors.visible_deals(row.actor.user)
    raw_id = row.values.get("id", "")
    if raw_id:
        found = deals.filter(pk=int(raw_id)).first() if raw_id.isdigit() else None
        if found is None:
            raise Reject("id", f"No deal with id {raw_id}.")
        return found
    xid = row.values.get("external_id", "")
    if xid:
        pk = row.lookup.by_external_id("deal", xid)
        found = deals.filter(pk=pk).first() if pk else None
        if found is not None:
            return found
    name = " ".join(row.values.get("name", "").split())
    return deals.filter(account=account, name__iexact=name).order_by("id").first() if name else None


def _deal_fields(row: RowInput) -> dict[str, Any]:
    v = row.values
    data: dict[str, Any] = {k: v[k] for k in ("name", "source", "description") if k in v}
    amount, code = _amount(row)
    if amount is not None:
        data["amount"] = amount
    if v.get("currency") or code:
        data["currency"] = (v.get("currency") or code).upper()
    if "expected_close" in v:
        data["expected_close"] = row.date("expected_close")
    if "forecast_category" in v:
        data["forecast_category"] = _choice(
            v["forecast_category"], Deal.ForecastCategory.choices, "forecast_category"
        )
    owner = row.owner()
    if owner is not None:
        data["owner"] = owner
    return data


def _lost_reason(row: RowInput, stage: Stage | None) -> LostReason | None:
    name = row.values.get("lost_reason", "")
    if not name or stage is None or stage.kind != Stage.Kind.LOST:
        return None
    reason = LostReason.objects.filter(name__iexact=name, is_active=True).first()
    if reason is None:
        names = ", ".join(LostReason.objects.filter(is_active=True).values_list("name", flat=True))
        raise Reject("lost_reason", f"No lost reason named '{name}' (the reasons: {names}).")
    return reason


def _changes(
    row: RowInput, current: dict[str, Any], wanted: dict[str, Any], empty: dict[str, Any]
) -> dict[str, Any]:
    """What a matched record takes from the row: empty fields only, or every differing one."""
    overwrite = row.job.on_match == OnMatch.OVERWRITE
    out = {}
    for name, value in wanted.items():
        old = current.get(name)
        if str(old if old is not None else "") == str(value if value is not None else ""):
            continue
        if overwrite or old in ("", None) or empty.get(name) == old:
            out[name] = value
    return out


def deal_row(row: RowInput) -> RowDone:
    """One row of a deals file (see the module's rules)."""
    permissions.require(row.actor.user, "add", RecordKind.DEAL)
    if "name" not in row.values and "id" not in row.values:
        raise Reject("name", "Give the deal's name.")
    pipeline, stage = _pipeline_stage(row)
    reason = _lost_reason(row, stage)
    data = _deal_fields(row)
    people, problems = _people(row)
    account, made_accounts = _account(row)
    key = (
        kinds.external_key(row.job.source, row.values["external_id"])
        if row.values.get("external_id")
        else ""
    )
    existing = _existing_deal(row, account)
    if existing is not None:
        done = _deal_update(row, existing, data, stage, reason, people)
        done.key, done.field_problems, done.accounts_created = key, problems, made_accounts
        return done
    if people:
        data["primary_contact"] = people[0][0].pk
    create = {**data, "account": account.pk, "pipeline": pipeline.pk}
    closing = stage is not None and stage.kind != Stage.Kind.OPEN
    created_on = row.date("created_on")
    # A closed deal closes on its close date; opened then too unless the file says when.
    closed_at = _at(data.get("expected_close"), default=timezone.now()) if closing else None
    opened_at = (
        _at(created_on, default=closed_at or timezone.now()) if created_on or closing else None
    )
    if opened_at and closed_at:
        opened_at = min(opened_at, closed_at)
    if stage is not None and not closing:
        create["stage"] = stage.pk
    deal = services.deal_create(actor=row.actor, data=create, at=opened_at)
    for i, (contact, role) in enumerate(people):
        services.deal_role_add(
            actor=row.actor, deal=deal, contact=contact, role=role, is_primary=i == 0
        )
    if closing:
        assert stage is not None and closed_at is not None
        services.deal_stage_change(
            actor=row.actor, deal=deal, stage=stage, lost_reason=reason, at=closed_at
        )
    deal.refresh_from_db(fields=["version"])
    return RowDone(
        "created",
        "deal",
        deal.pk,
        deal.version,
        key=key,
        match="new deal" + (" (and a new account)" if made_accounts else ""),
        field_problems=problems,
        accounts_created=made_accounts,
    )


def _deal_update(
    row: RowInput,
    deal: Deal,
    data: dict[str, Any],
    stage: Stage | None,
    reason: LostReason | None,
    people: list[tuple[Any, str]],
) -> RowDone:
    if row.job.on_match == OnMatch.SKIP:
        return RowDone("skipped", "deal", deal.pk, deal.version, match=f"deal {deal.pk}: skipped")
    current = {
        k: getattr(deal, f"{k}_id" if k in ("owner", "primary_contact") else k)
        for k in services.DEAL_EDITABLE
    }
    wanted = {k: v for k, v in data.items() if k != "name"}
    if "amount" in wanted:
        errors: dict[str, list[str]] = {}
        wanted["amount"] = services.clean_amount(errors, wanted["amount"])
        if errors:
            raise Reject("amount", " ".join(errors["amount"]))
    changes = _changes(
        row, current, wanted, {"amount": 0, "forecast_category": Deal.ForecastCategory.PIPELINE}
    )
    before = {
        k: (str(current[k]) if isinstance(current[k], dt.date) or k == "amount" else current[k])
        for k in changes
    }
    version = deal.version
    if changes:
        deal = services.deal_update(actor=row.actor, deal=deal, data=changes)
    if (
        stage is not None
        and stage.pk != deal.stage_id
        and row.job.on_match == OnMatch.OVERWRITE
        and stage.pipeline_id == deal.pipeline_id
    ):
        deal = services.deal_stage_change(
            actor=row.actor, deal=deal, stage=stage, lost_reason=reason
        )
    have = set(DealRole.objects.filter(deal=deal).values_list("contact_id", "role"))
    has_primary = DealRole.objects.filter(deal=deal, is_primary=True).exists()
    for contact, role in people:
        if (contact.pk, role) not in have:
            services.deal_role_add(
                actor=row.actor, deal=deal, contact=contact, role=role, is_primary=not has_primary
            )
            has_primary = True
    deal.refresh_from_db(fields=["version"])
    if deal.version == version:
        return RowDone(
            "unchanged", "deal", deal.pk, deal.version, match=f"deal {deal.pk}: unchanged"
        )
    return RowDone(
        "updated",
        "deal",
        deal.pk,
        deal.version,
        before={"fields": before},
        match=f"deal {deal.pk}: updated where it differs",
    )


def deal_undo(actor: Actor, record: ImportRecord) -> str:
    """Delete a deal the import made, or put back the fields it changed, unless someone
    changed the deal since."""
    deal = Deal.objects.filter(pk=record.object_id).first()
    if deal is None:
        return ""
    if deal.version != record.version:
        return "This deal was changed after the import; it is left as it is."
    if record.action == ImportRecord.Action.CREATED:
        services.deal_delete(actor=actor, deal=deal, expected_version=record.version)
    elif fields := (record.before or {}).get("fields"):
        services.deal_update(actor=actor, deal=deal, data=fields, expected_version=record.version)
    return ""


# --- leads ---------------------------------------------------------------------------------


def open_lead_for(*, email: str = "", contact_id: int | None = None) -> Lead | None:
    """The person's open lead (new, working or qualified, not converted), whoever owns it:
    by the captured e-mail address, else by their contact. The oldest if several."""
    open_leads = Lead.objects.filter(status__in=OPEN_LEAD, converted_deal__isnull=True).order_by(
        "id"
    )
    if email:
        found = open_leads.filter(email=email).first()
        if found is not None:
            return found
        contact_ids = list(
            ContactEmail.objects.filter(email=email).values_list("contact_id", flat=True)[:20]
        )
        if contact_id:
            contact_ids.append(contact_id)
        return open_leads.filter(contact_id__in=contact_ids).first() if contact_ids else None
    return open_leads.filter(contact_id=contact_id).first() if contact_id else None


def _lead_fields(row: RowInput) -> dict[str, Any]:
    v = row.values
    data: dict[str, Any] = {
        k: v[k] for k in ("company_name", "role", "need", "budget", "timing", "notes") if k in v
    }
    name = v.get("name") or " ".join(
        x for x in (v.get("given_name", ""), v.get("family_name", "")) if x
    )
    if name:
        data["name"] = name
    data["source"] = v.get("source") or row.job.source
    if "email" in v:
        try:
            data["email"] = normalize.normalize_email(v["email"])[0]
        except ValueError as exc:
            raise Reject("email", str(exc)) from None
    if "country" in v:
        try:
            data["country"] = normalize.normalize_country(v["country"])
        except ValueError as exc:
            raise Reject("country", str(exc)) from None
    if "phone" in v:
        try:
            data["phone"] = normalize.normalize_phone(
                v["phone"], data.get("country") or row.job.region
            )[0]
        except (ValueError, TypeError) as exc:
            raise Reject("phone", str(exc)) from None
    if "follow_up_on" in v:
        data["follow_up_on"] = row.date("follow_up_on")
    owner = row.owner()
    if owner is not None:
        data["owner"] = owner
    return data


def _lead_key(row: RowInput, data: dict[str, Any]) -> str:
    """The row's key for a later import: its external id, else the person as written."""
    if row.values.get("external_id"):
        return kinds.external_key(row.job.source, row.values["external_id"])
    person = "|".join(
        normalize.fold(str(data.get(k, ""))) for k in ("name", "email", "phone", "company_name")
    )
    return kinds.external_key(row.job.source, "\x01lead:" + person)


def _existing_lead(row: RowInput, data: dict[str, Any], key: str) -> Lead | None:
    """The open lead the row is, among those the importer may see; a person with an open
    lead the importer may not see is refused (never a second lead)."""
    leads = selectors.visible_leads(row.actor.user)
    raw_id = row.values.get("id", "")
    if raw_id:
        found = leads.filter(pk=int(raw_id)).first() if raw_id.isdigit() else None
        if found is None:
            raise Reject("id", f"No lead with id {raw_id}.")
        return found
    pk = (
        ImportRecord.objects.filter(entity_kind="lead", key=key)
        .order_by("-id")
        .values_list("object_id", flat=True)
        .first()
    )
    found = leads.filter(pk=pk).first() if pk else None
    if found is not None:
        return found
    known = None
    if not data.get("email"):
        known = services.known_contact(
            name=data.get("name", ""),
            email="",
            phone=data.get("phone", ""),
            company=data.get("company_name", ""),
            country=data.get("country", ""),
        )
    other = open_lead_for(email=data.get("email", ""), contact_id=known.pk if known else None)
    if other is None:
        return None
    if not leads.filter(pk=other.pk).exists():
        raise Reject(
            "email" if data.get("email") else "name",
            "This person has an open lead already, which you may not see; it is not doubled.",
        )
    return other


def lead_row(row: RowInput) -> RowDone:
    """One row of a leads file (see the module's rules)."""
    permissions.require(row.actor.user, "add", RecordKind.LEAD)
    data = _lead_fields(row)
    if not any(data.get(k) for k in ("name", "email", "phone", "company_name")):
        raise Reject("name", "Give a name, an e-mail address, a phone number or a company.")
    key = _lead_key(row, data)
    existing = _existing_lead(row, data, key)
    if existing is None:
        lead = services.lead_create(actor=row.actor, data=data)
        on = f" on contact {lead.contact_id}" if lead.contact_id else ""
        return RowDone("created", "lead", lead.pk, lead.version, key=key, match=f"new lead{on}")
    if row.job.on_match == OnMatch.SKIP:
        return RowDone(
            "skipped",
            "lead",
            existing.pk,
            existing.version,
            match=f"lead {existing.pk}: skipped (an open lead of this person)",
        )
    current = {k: getattr(existing, f"{k}_id" if k == "owner" else k) for k in data}
    changes = _changes(row, current, {k: v for k, v in data.items() if k != "source"}, {})
    if not changes:
        return RowDone(
            "unchanged",
            "lead",
            existing.pk,
            existing.version,
            match=f"lead {existing.pk}: unchanged (an open lead of this person)",
        )
    before = {
        k: (str(current[k]) if isinstance(current[k], dt.date) else current[k]) for k in changes
    }
    lead = services.lead_update(actor=row.actor, lead=existing, data=changes)
    return RowDone(
        "updated",
        "lead",
        lead.pk,
        lead.version,
        before={"fields": before},
        key=key,
        match=f"lead {lead.pk}: updated where it differs",
    )


def lead_undo(actor: Actor, record: ImportRecord) -> str:
    lead = Lead.objects.filter(pk=record.object_id).first()
    if lead is None:
        return ""
    if lead.version != record.version:
        return "This lead was changed after the import; it is left as it is."
    if record.action == ImportRecord.Action.CREATED:
        services.lead_delete(actor=actor, lead=lead, expected_version=record.version)
    elif fields := (record.before or {}).get("fields"):
        services.lead_update(actor=actor, lead=lead, data=fields, expected_version=record.version)
    return ""


def register() -> None:
    """The two kinds of file the sales app imports (called from ``SalesConfig.ready``)."""
    kinds.register(
        kinds.Kind(
            name="deals", label="Deals", record_kind=RecordKind.DEAL, entity="deal", targets=DEAL_TARGETS,
            required=(frozenset({"name", "id"}), "Map a column to the deal's name (or to a Rapport id to update deals)."),
            import_row=deal_row, undo=deal_undo, labels=DEAL_LABELS, creates_accounts=True,
            not_fields=frozenset({"account.name", "account.domain", "account.external_id", "account_id", "contact.email", "contact.role", "contacts", "stage", "pipeline", "lost_reason", "created_on", "external_id"}),
        )
    )  # fmt: skip
    kinds.register(
        kinds.Kind(
            name="leads", label="Leads", record_kind=RecordKind.LEAD, entity="lead", targets=LEAD_TARGETS,
            required=(frozenset({"name", "given_name", "family_name", "email", "phone", "company_name", "id"}), "Map a column to the lead's name, e-mail address, phone or company."),
            import_row=lead_row, undo=lead_undo, labels=LEAD_LABELS,
            not_fields=frozenset({"given_name", "family_name", "external_id"}),
        )
    )  # fmt: skip
