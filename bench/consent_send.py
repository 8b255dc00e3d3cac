"""Consent-checked campaign e-mail through the send gate to a local SMTP server, with a
withdrawal mid-batch.

    .venv/bin/python bench/consent_send.py --messages 10000 --db sqlite
    .venv/bin/python bench/consent_send.py --messages 10000 --db pg

A fresh database (``bench.common.fresh_env``) gets N contacts, each with an e-mail address
and a newsletter grant (written in bulk: setting up the audience is not what is measured).
The batch of N newsletters is queued with ``send_queue_many`` and sent by ``batch_run``,
the job the task runs: for each message the claim under a row lock, the consent check at
that moment (suppression list, the contact's and the address's state), the SMTP hand-off
over one connection, the status and the send log on the timeline. The SMTP server
(aiosmtpd) runs in a process of its own and writes each recipient it accepts to a file.

When half the batch is sent, a thread in the sending process withdraws 1% of the audience
(chosen among the second half) through ``consent_record``, one by one, while the batch
goes on. Afterwards the script checks, from what the server received, that no withdrawn
person got a message claimed after their withdrawal committed, and prints messages per
second and the time 100,000 would take at that rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_env  # noqa: E402


def smtp_server(port: int, out: str) -> None:
    """The receiving side: accept everything, append each recipient to ``out``."""
    import asyncio

    from aiosmtpd.controller import Controller

    sink = open(out, "a", buffering=1)  # noqa: SIM115

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            for r in envelope.rcpt_tos:
                sink.write(r + "\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.sleep(10**9))
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
        sink.close()


def sender(n: int, port: int, received_file: str) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone

    from rapport.consent import delivery, services
    from rapport.consent.models import ConsentEvent, ConsentState, OutboundMessage, Purpose
    from rapport.consent.sending import OutboundEmail, send_queue_many
    from rapport.core.actor import Actor
    from rapport.customers.models import Contact, ContactEmail

    settings.CONSENT_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.CONSENT_SEND_RATE = 0
    system = Actor(user=None, via="system")
    newsletter = Purpose.objects.get(key="newsletter")

    t0 = time.perf_counter()
    Contact.objects.bulk_create(
        [
            Contact(
                full_name=f"Reader {i}",
                sort_name=f"reader {i}",
                given_name="Reader",
                family_name=str(i),
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(
                contact_id=c, email=f"reader{c}@example.com", domain="example.com", is_primary=True
            )
            for c in ids
        ],
        batch_size=5000,
    )
    now = timezone.now()
    events = ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(contact_id=c, channel="email", purpose=newsletter, lawful_basis="consent", status="granted",
                         source="form", evidence_text="Sign-up form", effective_at=now, via="system")
            for c in ids
        ],
        batch_size=5000,
    )  # fmt: skip
    ConsentState.objects.bulk_create(
        [
            ConsentState(contact_id=e.contact_id, channel="email", purpose=newsletter, status="granted",
                         lawful_basis="consent", event_id=e.pk, effective_at=now)
            for e in events
        ],
        batch_size=5000,
    )  # fmt: skip
    setup = time.perf_counter() - t0

    t0 = time.perf_counter()
    batch = send_queue_many(
        actor=system, name="Bench newsletter", purpose="newsletter", start=False,
        messages=(OutboundEmail(contact_id=c, to_address=f"reader{c}@example.com", purpose="newsletter",
                                subject="Our news this month", text="Hello reader,\n\nThe news.\n" * 20) for c in ids),
    )  # fmt: skip
    queued = time.perf_counter() - t0

    # 1% of the audience, among the second half of the batch, withdraws while it goes out.
    second_half = ids[n // 2 + n // 10 :]
    quitters = second_half[:: max(1, len(second_half) // max(1, n // 100))][: max(1, n // 100)]
    withdrawn_at: dict[int, float] = {}

    def withdraw_midway() -> None:
        try:
            while OutboundMessage.objects.filter(batch=batch, status="sent").count() < n // 2:
                time.sleep(0.2)
            for contact in Contact.objects.filter(pk__in=quitters).order_by("pk"):
                services.consent_record(
                    actor=Actor(user=None, via="web"), contact=contact, channel="email",
                    purpose=newsletter, status="withdrawn", source="unsubscribe",
                )  # fmt: skip
                withdrawn_at[contact.pk] = time.time()
        finally:
            connections.close_all()

    thread = threading.Thread(target=withdraw_midway)
    t0 = time.perf_counter()
    thread.start()
    counts = delivery.batch_run(batch.pk)
    elapsed = time.perf_counter() - t0
    thread.join()

    received = Path(received_file).read_text().split()
    late = 0
    for m in OutboundMessage.objects.filter(batch=batch, contact_id__in=quitters, status="sent"):
        if m.claimed_at and m.claimed_at.timestamp() > withdrawn_at.get(m.contact_id, float("inf")):
            late += 1  # sent although the withdrawal had committed before the claim
    rate = counts.get("sent", 0) + counts.get("blocked", 0)
    return {
        "messages": n,
        "sent": counts.get("sent", 0),
        "blocked": counts.get("blocked", 0),
        "withdrawals": len(withdrawn_at),
        "received_by_server": len(received),
        "sent_after_withdrawal": late,
        "setup_s": round(setup, 1),
        "queue_s": round(queued, 1),
        "send_s": round(elapsed, 1),
        "messages_per_s": round(rate / elapsed, 1),
        "hours_for_100k": round(100_000 / (rate / elapsed) / 3600, 2),
        "db": connections["default"].vendor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--work", default="/tmp/bench-consent")
    parser.add_argument("--child", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--smtp", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp:
        smtp_server(int(args.smtp[0]), args.smtp[1])
        return
    if args.child:
        print(json.dumps(sender(args.messages, int(args.child[0]), args.child[1])))
        return

    from rapport.consent.tests.smtp import free_port

    work = Path(args.work)
    env = fresh_env(work, "rapport_bench_consent", args.db)
    port = free_port()
    received = work / "received.txt"
    received.unlink(missing_ok=True)
    received.touch()
    server = subprocess.Popen(
        [sys.executable, __file__, "--smtp", str(port), str(received)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        out = subprocess.run(
            [sys.executable, __file__, "--messages", str(args.messages), "--child", str(port), str(received)],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in result.items():
        print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
