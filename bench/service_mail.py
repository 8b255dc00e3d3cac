"""E-mail to case: messages a second through the one receive path, with a service mailbox.

    .venv/bin/python bench/service_mail.py --messages 2000 --db sqlite
    .venv/bin/python bench/service_mail.py --messages 2000 --db pg

A fresh database (``bench.common.fresh_env``) gets ``--contacts`` contacts with an e-mail
address each (through the customer services; not measured) and a service mailbox. Then
``--messages`` messages go through the receive path (parse, store on the timeline, the
learners: proposals, then the service's case path): the first half new messages to the service address (90 % from known
contacts, 10 % from strangers, who become contacts), the second half replies to those
cases, half threaded by the reference in the subject from the case's contact, half by
In-Reply-To of the case's first message. ``--batch N`` (default 50) delivers them N at a
time through ``mail.receive_many`` in one transaction (what a poll's fetch of a folder
would be; the IMAP poll itself still stores message by message, each with its folder's
mark); ``--batch 1`` is one ``mail.receive`` a transaction, message by message, as the IMAP poll and the webhook do now.
``--no-service`` runs the same mail with the service mailbox switched off (the timeline-only baseline). Printed: messages a second, the
process's CPU time a message, p50 and p95 of a delivery (one transaction) and of a message
(a delivery's time over its messages), the load average, and the cases and messages stored
(checked: every reply is on its case).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_env, run_step  # noqa: E402


def _raw(sender: str, subject: str, msgid: str, body: str, in_reply_to: str = "") -> bytes:
    headers = [
        f"From: {sender}",
        "To: support@rapport-bench.org",
        f"Subject: {subject}",
        f"Message-ID: <{msgid}>",
        "Date: Tue, 01 Dec 2026 10:00:00 +0000",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def step(messages: int, contacts: int, seed: int, service: bool, batch: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.db import transaction

    from rapport.core.actor import Actor, Via
    from rapport.customers import services as customers
    from rapport.customers.services import ContactParts
    from rapport.ingest.mail import services as mail
    from rapport.service.models import Case, CaseMessage, ServiceMailbox
    from rapport.users.models import Team

    system = Actor(user=None, via=Via.SYSTEM)
    rng = random.Random(seed)
    addresses = []
    for i in range(contacts):
        address = f"person{i}@customer{i % 97}.example"
        customers.contact_create(
            actor=system,
            data={"full_name": f"Person {i}"},
            parts=ContactParts(emails=[{"email": address}]),
        )
        addresses.append(address)
    ServiceMailbox.objects.create(
        name="Support",
        address="support@rapport-bench.org",
        team=Team.objects.create(name="Desk"),
        active=service,  # off: the same mail, stored on the timeline only (the baseline)
    )
    bringer = Actor(user=None, via=Via.IMPORT, context={"path": "imap"})
    half = messages // 2
    firsts: list[tuple[str, str]] = []  # (sender, message id) of each new message
    timings: list[float] = []  # of each delivery
    per_message: list[float] = []
    pending: list[bytes] = []

    def deliver(force: bool = False) -> None:
        if not pending or (len(pending) < batch and not force):
            return
        t = time.perf_counter()
        with transaction.atomic():  # one delivery, one transaction
            if batch == 1:
                mail.receive(pending[0], actor=bringer)
            else:
                mail.receive_many(pending, actor=bringer)
        took = time.perf_counter() - t
        timings.append(took)
        per_message.extend([took / len(pending)] * len(pending))
        pending.clear()

    started = time.perf_counter()
    cpu = time.process_time()
    for i in range(half):
        stranger = rng.random() < 0.1
        sender = f"stranger{i}@elsewhere.example" if stranger else rng.choice(addresses)
        msgid = f"new{i}@bench"
        pending.append(
            _raw(sender, f"Question {i} about my order", msgid, "Where is my parcel?\n" * 5)
        )
        deliver()
        firsts.append((sender, msgid))
    deliver(force=True)
    cases = dict(
        CaseMessage.objects.filter(message_id__in=[m for _, m in firsts]).values_list(
            "message_id", "case_id"
        )
    )
    for i in range(messages - half):
        sender, first = firsts[i % len(firsts)]
        case_id = cases.get(first, i)
        if i % 2 == 0:
            raw = _raw(sender, f"Re: Question [C-{case_id:06d}]", f"re{i}@bench", "Any news?")
        else:
            raw = _raw(sender, "Re: my parcel", f"re{i}@bench", "Any news?", in_reply_to=first)
        pending.append(raw)
        deliver()
    deliver(force=True)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    replies_threaded = CaseMessage.objects.filter(message_id__startswith="re").count()
    timings.sort()
    per_message.sort()

    def pct(values: list[float], q: float) -> float:
        return round(values[max(0, int(len(values) * q) - 1)] * 1000, 2)

    return {
        "messages": messages,
        "batch": batch,
        "seconds": round(seconds, 2),
        "per_second": round(messages / seconds, 1),
        "cpu_ms_per_message": round(cpu / messages * 1000, 2),
        "delivery_p50_ms": round(statistics.median(timings) * 1000, 2),
        "delivery_p95_ms": pct(timings, 0.95),
        "message_p50_ms": round(statistics.median(per_message) * 1000, 2),
        "message_p95_ms": pct(per_message, 0.95),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cases": Case.objects.count(),
        "case_messages": CaseMessage.objects.count(),
        "replies_on_their_case": replies_threaded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--batch", type=int, default=50, help="messages a delivery (1: mail.receive each)"
    )
    parser.add_argument(
        "--no-service", action="store_true", help="the baseline: the mailbox is not a service one"
    )
    parser.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(
            json.dumps(
                step(args.messages, args.contacts, args.seed, not args.no_service, args.batch)
            )
        )
        return
    with tempfile.TemporaryDirectory() as work:
        env = fresh_env(Path(work), "rapport_bench_service_mail", args.db)
        result = run_step(
            str(ROOT / "bench" / "service_mail.py"),
            env,
            "--step",
            f"--messages={args.messages}",
            f"--contacts={args.contacts}",
            f"--seed={args.seed}",
            f"--batch={args.batch}",
            *(["--no-service"] if args.no_service else []),
        )
    what = "mail only (baseline)" if args.no_service else "e-mail to case"
    print(f"{what}, {args.db}: {json.dumps(result)}")


if __name__ == "__main__":
    main()
