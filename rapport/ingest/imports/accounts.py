"""Importing accounts. Account files are small next to contact files (thousands of rows,
not millions), so each row goes through the account services themselves; batches still
commit together with the job's ``rows_done``, so a run resumes exactly where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapport.audit.services import Actor
from rapport.customers import normalize, services
from rapport.customers.models import Account
from rapport.ingest.imports.clean import ADDRESS_LIMITS, uninert
from rapport.ingest.imports.kinds import Lookup, Reject
from rapport.ingest.imports.rows import active_owners, run_rows
from rapport.ingest.models import ImportJob, ImportRecord, OnMatch

BATCH = 200  # rows a transaction
SCALARS = ("name", "legal_name", "industry", "size", "country", "phone", "lifecycle", "notes")
_SIZES = [(9, "1-9"), (49, "10-49"), (249, "50-249"), (999, "250-999")]


def _size(value: str) -> str:
    text = value.replace(",", "").strip()
    if text.isdigit():
        n = int(text)
        return next((label for top, label in _SIZES if n <= top), "1000+")
    return text


def _row_data(cells: list[str], job: ImportJob, owners: dict[str, int]) -> tuple[dict, dict, list[tuple[str, str]]]:
    """(field data, parts, problems) of one row, before the services clean it."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    parts: dict[str, Any] = {"domains": [], "external_ids": [], "address": {}, "id": None}
    problems: list[tuple[str, str]] = []
    for i, header in enumerate(job.headers):
        target = job.mapping.get(header)
        value = uninert(cells[i].strip()) if i < len(cells) else ""
        if not target or target == "ignore" or not value:
            continue
        if target in SCALARS:
            data[target] = _size(value) if target == "size" else value
        elif target == "tags":
            data["tags"] = [t for t in value.replace(",", ";").split(";") if t.strip()]
        elif target == "owner":
            if value.casefold() not in owners:
                problems.append((header, f"No active user named '{value}'."))
            data["owner"] = owners.get(value.casefold())
        elif target in ("domain", "domains"):
            parts["domains"] += [d.strip() for d in value.split(";") if d.strip()]
        elif target == "external_id":
            parts["external_ids"].append((job.source, value))
        elif target == "external_ids":
            for item in value.split(";"):
                source, sep, xid = item.partition(":")
                if sep and source.strip() and xid.strip():
                    parts["external_ids"].append((source.strip(), xid.strip()))
                elif item.strip():
                    problems.append((header, f"'{item.strip()}' is not SOURCE:ID."))
        elif target in ADDRESS_LIMITS:
            parts["address"][target] = value
        elif target == "id":
            parts["id"] = int(value) if value.isdigit() else -1
        elif target.startswith("custom."):
            custom[target[len("custom.") :]] = value
    if custom:
        data["custom"] = custom
    return data, parts, problems


def _match(data: dict, parts: dict, user: Any, source: str = "") -> Account | None:
    """The existing account a row describes, among those ``user`` may see: another team's
    account is not found, as if it did not exist (the services then refuse a domain or an
    external id it holds without naming it)."""
    return Lookup(user, source).account(id=parts["id"], external_ids=parts["external_ids"], domains=parts["domains"], name=data.get("name", ""))


def _one(job: ImportJob, number: int, cells: list[str], owners: dict[str, int], actor: Actor, counts: dict) -> None:
    data, parts, problems = _row_data(cells, job, owners)
    if problems:
        raise Reject(problems[0][0], "; ".join(f"{h}: {r}" for h, r in problems))
    if parts["id"] == -1:
        raise Reject("id", "The id is not a whole number.")
    row_actor = Actor(user=actor.user, via=actor.via, context={"import": job.pk, "row": number})
    account = _match(data, parts, actor.user, job.source)
    if parts["id"] and account is None:
        raise Reject("id", f"No account with id {parts['id']}.")
    address = parts["address"]
    if address:
        address.setdefault("country", data.get("country") or job.region)
    if account is None:
        made = services.account_create(
            actor=row_actor,
            data=data,
            domains=parts["domains"],
            external_ids=[{"source": s, "external_id": x} for s, x in parts["external_ids"]],
            addresses=[address] if address else [],
        )
        ImportRecord.objects.create(job=job, row=number, entity_kind="account", object_id=made.pk, action="created", version=made.version)
        counts["created"] += 1
        return
    if job.on_match == OnMatch.SKIP:
        counts["skipped"] += 1
        return
    overwrite = job.on_match == OnMatch.OVERWRITE
    change: dict[str, Any] = {}
    for k, v in data.items():
        if k == "custom":
            old = account.custom or {}
            new = {ck: cv for ck, cv in v.items() if overwrite or old.get(ck) in (None, "", [])}
            if new:
                change["custom"] = new
        elif k == "tags":
            have = set(account.tags.values_list("name", flat=True))
            if set(v) - have:
                change["tags"] = sorted(have | {normalize.normalize_tag(t) for t in v})
        else:
            old = getattr(account, f"{k}_id" if k == "owner" else k)
            if (overwrite or old in ("", None)) and str(old or "") != str(v):
                change[k] = v
    before = {k: (getattr(account, f"{k}_id") if k == "owner" else list(account.tags.values_list("name", flat=True)) if k == "tags" else getattr(account, k)) for k in change}
    added: dict[str, list] = {"domains": [], "external_ids": []}
    version_before = account.version
    if change:
        account = services.account_update(actor=row_actor, account=account, data=change)
    have_domains = set(account.domains.values_list("domain", flat=True))
    for d in parts["domains"]:
        domain = normalize.normalize_domain(d)
        if domain not in have_domains:
            services.part_add(actor=row_actor, parent=account, part="domains", data={"domain": domain})
            added["domains"].append(domain)
    for s, x in parts["external_ids"]:
        if not account.external_ids.filter(source=s, external_id=x).exists():
            services.part_add(actor=row_actor, parent=account, part="external_ids", data={"source": s, "external_id": x})
            added["external_ids"].append([s, x])
    account.refresh_from_db()
    if account.version == version_before:
        counts["unchanged"] += 1
        return
    ImportRecord.objects.create(
        job=job, row=number, entity_kind="account", object_id=account.pk, action="updated", version=account.version,
        before={"fields": before, "added": added},
    )  # fmt: skip
    counts["updated"] += 1


def run_accounts(job: ImportJob, token: str, actor: Actor, *, progress: Callable | None, started: float, base_seconds: float) -> None:
    owners = active_owners()

    def one(job: ImportJob, number: int, cells: list[str], counts: dict) -> None:
        _one(job, number, cells, owners, actor, counts)

    run_rows(job, token, one, progress=progress, started=started, base_seconds=base_seconds, batch=BATCH)
