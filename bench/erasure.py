"""Export and erasure of one person with a long history (issue 16: erasure of one person with
10,000 timeline entries in at most 60 s; the export within a minute).

    .venv/bin/python bench/erasure.py --entries 10000 --db sqlite
    .venv/bin/python bench/erasure.py --entries 10000 --db pg

A fresh database (``bench.common.fresh_env``) gets ``--others`` other contacts with a few
timeline entries each (so the person's rows are not the whole table), then the person: a
contact with an e-mail, a phone and an address, ``--entries`` timeline entries (notes,
calls, e-mails; one in 200 with an attachment file; every 50th shared with another
contact, so the erasure has some to redact rather than delete), consent given and
withdrawn. Setting the history up is written in bulk (``events.record_many``) and not
measured.

Then, as the steward, through the services the pages and the API call:
``privacy_request_export`` with the JSON and HTML files made from it (timed), and
``privacy_request_erase`` (timed: one transaction over every registered handler, and the
files deleted after commit). The script checks that no entry, link, attachment file or
contact of the person is left and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_env, run_step  # noqa: E402


def step(entries: int, others: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.consent.models import Status
    from rapport.consent.requests import render, services
    from rapport.consent.services import consent_record
    from rapport.core.actor import Actor
    from rapport.customers import services as customers
    from rapport.customers.models import Contact
    from rapport.customers.services import ContactParts
    from rapport.timeline import events
    from rapport.timeline.models import Attachment, Entry, EntryLink
    from rapport.users.models import Role, User

    system = Actor(user=None, via="system")
    steward = User.objects.create_user(
        username="steward", password="bench-pass-1", role=Role.STEWARD
    )
    now = timezone.now()
    t0 = time.perf_counter()
    other_ids = []
    for i in range(others):
        c = customers.contact_create(
            actor=system,
            data={"given_name": f"Other{i}", "family_name": "Person"},
            parts=ContactParts(emails=[{"email": f"other{i}@bench.example"}]),
        )
        other_ids.append(c.pk)
    events.record_many(
        [
            events.Draft(kind="note", summary=f"Note {k}", contacts=[cid], body="Other text",
                         occurred_at=now - dt.timedelta(minutes=k))
            for cid in other_ids for k in range(5)
        ]
    )  # fmt: skip
    person = customers.contact_create(
        actor=system,
        data={"given_name": "Bartholomew", "family_name": "Erasewell"},
        parts=ContactParts(
            emails=[{"email": "bart.erasewell@bench.example"}],
            phones=[{"number": "+442079460999"}],
            addresses=[{"street": "9 Forgetting Lane", "city": "Leeds", "country": "GB"}],
        ),
    )
    kinds = ("note", "call", "email")
    drafts = []
    for k in range(entries):
        shared = [other_ids[k % len(other_ids)]] if other_ids and k % 50 == 0 else []
        drafts.append(
            events.Draft(
                kind=kinds[k % 3],
                summary=f"{kinds[k % 3]} {k} with Bartholomew Erasewell",
                contacts=[person.pk, *shared],
                body=f"Bartholomew Erasewell said thing {k}; call +442079460999",
                occurred_at=now - dt.timedelta(minutes=k + 1),
                data={"from": "bart.erasewell@bench.example", "n": k},
            )
        )
    written = []
    for i in range(0, len(drafts), 2000):
        with transaction.atomic():
            written += events.record_many(drafts[i : i + 2000])
    files = 0
    for entry in written[1::200]:  # not the shared ones (k % 50 == 0): they keep theirs
        att = Attachment(entry=entry, name="notes.txt", content_type="text/plain", size=40)
        att.file.save("notes.txt", ContentFile(b"Bartholomew Erasewell private notes"), save=False)
        att.save()
        files += 1
    for status in (Status.GRANTED, Status.WITHDRAWN):
        consent_record(actor=system, contact=person, purpose="newsletter", channel="email",
                       status=status, source="form", confirmed=True)  # fmt: skip
    setup = time.perf_counter() - t0
    on_person = EntryLink.objects.filter(contact_id=person.pk).count()

    request = services.privacy_request_create(
        actor=Actor(steward), data={"kind": "erasure", "contact": person.pk}
    )
    t1 = time.perf_counter()
    package = services.privacy_request_export(actor=Actor(steward), request=request)
    as_json = render.to_json(package)
    as_html = render.to_html(package)
    export_s = time.perf_counter() - t1
    exported_entries = len(package["data"]["timeline"])

    t2 = time.perf_counter()
    done = services.privacy_request_erase(actor=Actor(steward), request=request)
    erase_s = time.perf_counter() - t2

    media = Path(settings.MEDIA_ROOT)
    left_files = sum(1 for p in media.rglob("*") if p.is_file() and b"Erasewell" in p.read_bytes())
    left = {
        "contact": Contact.objects.filter(pk=person.pk).count(),
        "links": EntryLink.objects.filter(contact_id=person.pk).count(),
        "entries_naming_them": Entry.objects.filter(body__icontains="Erasewell").count(),
        "files": left_files,
    }
    return {
        "db": connection.vendor,
        "entries_on_person": on_person,
        "other_contacts": others,
        "attachments": files,
        "setup_s": round(setup, 1),
        "export_s": round(export_s, 2),
        "export_entries": exported_entries,
        "export_json_bytes": len(as_json),
        "export_html_bytes": len(as_html),
        "erase_s": round(erase_s, 2),
        "erase_report": done.record["handlers"],
        "left": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--pg-db", default="rapport_p1_bench_erasure", help="PostgreSQL database (dropped and made again)")
    parser.add_argument("--work", default=None, help="parent of the data directory (default: a new temporary one)")
    parser.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        result = step(args.entries, args.others)
        result["load"] = [round(x, 2) for x in os.getloadavg()]
        result["cpu_s"] = round(time.process_time(), 1)
        print(json.dumps(result))
        return
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-erasure-"))
    env = fresh_env(work, args.pg_db, args.db)
    result = run_step(str(ROOT / "bench" / "erasure.py"), env, "--step", "--entries",
                      str(args.entries), "--others", str(args.others))  # fmt: skip
    print(json.dumps(result, indent=2))
    ok = result["erase_s"] <= 60 and result["export_s"] <= 60 and not any(result["left"].values())
    print(
        f"{args.db}: export of {result['export_entries']:,} entries in {result['export_s']} s, "
        f"erasure of {result['entries_on_person']:,} entries in {result['erase_s']} s "
        f"(target 60 s): {'met' if ok else 'NOT met'}; load average {result['load']}, "
        f"CPU time of the step {result['cpu_s']} s"
    )


if __name__ == "__main__":
    main()
