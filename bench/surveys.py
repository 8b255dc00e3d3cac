"""Surveys: invitations through the consent gate to a local SMTP server, and the results
page at 100,000 answers.

    .venv/bin/python bench/surveys.py --db sqlite --invitations 5000 --answers 100000
    .venv/bin/python bench/surveys.py --db pg --invitations 5000 --answers 100000

A fresh database (``bench.common.fresh_env``) gets N contacts with an e-mail address
(written in bulk: the audience is not what is measured); 5% of them objected to surveys
(a withdrawal through ``consent_record``). A manual survey is sent to all of them with
``survey_send_to``, the function marketing's segments call: for each person the lock, the
cap's count, the consent check, the invitation row, and the batch queued through the
gate; then ``batch_run`` (the task's job) sends the batch to an aiosmtpd server in a
process of its own: the gate's claim, its own consent check, the SMTP hand-off, the send
log. Printed: invitations decided per second, messages sent per second, and the two
together (end to end), with what the server received.

Then a CSAT survey gets ``--answers`` answers over a year (bulk rows: 4 departments and
touchpoints, a comment on a third of them), and its results page (every figure, the
charts, the first 50 answers) is fetched ``--repeat`` times by a manager after two
warm-up requests, unfiltered and filtered by department and a quarter; printed p50/p95.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_env  # noqa: E402
from bench.consent_send import smtp_server  # noqa: E402


def _pcts(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(times[len(times) // 2] * 1000, 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
    }


def child(n: int, answers: int, repeat: int, port: int, received_file: str) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from rapport.consent import delivery
    from rapport.consent import services as consent
    from rapport.consent.models import SendBatch
    from rapport.core.actor import Actor
    from rapport.customers.models import Contact, ContactEmail
    from rapport.surveys import services
    from rapport.surveys.models import Answer, Invitation, SurveyResponse
    from rapport.users.models import Role, User

    settings.CONSENT_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.CONSENT_SEND_RATE = 0
    settings.ALLOWED_HOSTS = ["testserver"]
    # No collected static files here: plain static URLs (the page's own work is measured).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    system = Actor(user=None, via="system")
    rng = random.Random(7)

    Contact.objects.bulk_create(
        [Contact(full_name=f"Client {i}", sort_name=f"client {i}", given_name="Client", family_name=str(i)) for i in range(n)],
        batch_size=5000,
    )  # fmt: skip
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    ContactEmail.objects.bulk_create(
        [ContactEmail(contact_id=c, email=f"client{c}@example.com", domain="example.com", is_primary=True) for c in ids],
        batch_size=5000,
    )  # fmt: skip
    objecting = set(rng.sample(ids, n // 20))
    for contact in Contact.objects.filter(pk__in=objecting):
        consent.consent_record(
            actor=system, contact=contact, channel="email", purpose="surveys", status="withdrawn",
            source="email", evidence_text="Please no surveys",
        )  # fmt: skip
    survey = services.survey_create(
        actor=system,
        data={"name": "Product ideas", "trigger": "manual", "department": "marketing",
              "questions": [{"kind": "nps", "text": "Recommend us?", "required": True},
                            {"kind": "text", "text": "Why?"}]},
    )  # fmt: skip

    reverse("surveys:home")  # load the URL configuration before the clock starts
    t0 = time.perf_counter()
    result = services.survey_send_to(actor=system, survey=survey, contact_ids=ids)
    decided_s = time.perf_counter() - t0
    batches = list(SendBatch.objects.order_by("pk").values_list("pk", flat=True))
    t0 = time.perf_counter()
    counts: dict[str, int] = {}
    for pk in batches:
        for k, v in delivery.batch_run(pk).items():
            counts[k] = counts.get(k, 0) + v
    sent_s = time.perf_counter() - t0
    received = Path(received_file).read_text().split()
    to_objectors = len({r for r in received} & {f"client{c}@example.com" for c in objecting})

    # --- The results page at `answers` answers --------------------------------------
    csat = services.survey_create(
        actor=system,
        data={"name": "After your case", "trigger": "case_resolved", "department": "service",
              "questions": [{"kind": "csat", "text": "How satisfied are you?", "required": True},
                            {"kind": "text", "text": "What could we do better?"}]},
    )  # fmt: skip
    q_csat, q_text = list(csat.questions.all())
    now = timezone.now()
    groups = [("service", "case_resolved", "case"), ("sales", "deal_won", "deal"),
              ("sales", "deal_lost", "deal"), ("sales", "meeting_held", "task")]  # fmt: skip
    t0 = time.perf_counter()
    step = 5000
    for start in range(0, answers, step):
        invs, resps = [], []
        for i in range(start, min(answers, start + step)):
            dept, touch, kind = groups[i % 4]
            at = now - dt.timedelta(minutes=rng.randint(60, 365 * 24 * 60))
            invs.append(Invitation(
                survey=csat, contact_id=ids[i % n], touchpoint=touch, object_kind=kind,
                object_id=10_000_000 + i, department=dept, occurred_at=at, sent_at=at,
                expires_at=at + dt.timedelta(days=14), answered_at=at, to_address="x@example.com",
            ))  # fmt: skip
        Invitation.objects.bulk_create(invs, batch_size=2000)
        for inv in invs:
            score = rng.choices([1, 2, 3, 4, 5], weights=[5, 7, 12, 30, 46])[0]
            comment = (
                rng.choice(["Quick and friendly", "Took too long", "Fine"])
                if rng.random() < 0.33
                else ""
            )
            resps.append(SurveyResponse(
                invitation=inv, survey=csat, contact_id=inv.contact_id, touchpoint=inv.touchpoint,
                object_kind=inv.object_kind, object_id=inv.object_id, department=inv.department,
                submitted_at=inv.sent_at, score=score, comment=comment,
            ))  # fmt: skip
        SurveyResponse.objects.bulk_create(resps, batch_size=2000)
        rows = []
        for r in resps:
            rows.append(Answer(response=r, question=q_csat, number=r.score))
            if r.comment:
                rows.append(Answer(response=r, question=q_text, text=r.comment))
        Answer.objects.bulk_create(rows, batch_size=5000)
    fill_s = time.perf_counter() - t0
    if connections["default"].vendor == "postgresql":
        with connections["default"].cursor() as cur:
            cur.execute("ANALYZE")
    manager = User.objects.create_user(username="bench-manager", password="x", role=Role.MANAGER)
    client = Client()
    client.force_login(manager)
    url = reverse("surveys:survey-detail", args=[csat.pk])
    quarter = (
        (now - dt.timedelta(days=120)).date().isoformat(),
        (now - dt.timedelta(days=30)).date().isoformat(),
    )
    pages = {
        "all": url,
        "filtered": f"{url}?department=sales&since={quarter[0]}&until={quarter[1]}",
    }
    timings: dict[str, dict[str, float]] = {}
    for name, target in pages.items():
        for _ in range(2):
            assert client.get(target).status_code == 200
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            response = client.get(target)
            times.append(time.perf_counter() - t)
            assert response.status_code == 200
        timings[name] = _pcts(times)
    invited = result.invited_count
    return {
        "db": connections["default"].vendor,
        "contacts": n,
        "invited": invited,
        "skipped": result.skipped,
        "decide_and_queue_s": round(decided_s, 2),
        "invitations_decided_per_s": round(n / decided_s, 1),
        "gate_sent": counts.get("sent", 0),
        "gate_blocked": counts.get("blocked", 0),
        "gate_send_s": round(sent_s, 2),
        "messages_sent_per_s": round((counts.get("sent", 0) + counts.get("blocked", 0)) / sent_s, 1)
        if sent_s
        else None,
        "end_to_end_invitations_per_s": round(invited / (decided_s + sent_s), 1),
        "received_by_server": len(received),
        "received_by_objectors": to_objectors,
        "answers": SurveyResponse.objects.filter(survey=csat).count(),
        "answer_rows": Answer.objects.filter(response__survey=csat).count(),
        "fill_s": round(fill_s, 1),
        "results_page_all": timings["all"],
        "results_page_filtered": timings["filtered"],
        "repeat": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invitations", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--work", default="/tmp/bench-surveys")
    parser.add_argument("--child", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--smtp", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp:
        smtp_server(int(args.smtp[0]), args.smtp[1])
        return
    if args.child:
        out = child(args.invitations, args.answers, args.repeat, int(args.child[0]), args.child[1])
        print(json.dumps(out))
        return

    from rapport.consent.tests.smtp import free_port

    work = Path(args.work)
    env = fresh_env(work, "rapport_bench_surveys", args.db)
    port = free_port()
    received = work / "received.txt"
    received.unlink(missing_ok=True)
    received.touch()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "consent_send.py"), "--smtp", str(port), str(received)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        out = subprocess.run(
            [sys.executable, __file__, "--invitations", str(args.invitations), "--answers", str(args.answers),
             "--repeat", str(args.repeat), "--child", str(port), str(received)],
            env=env, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in result.items():
        print(f"{key:>30}: {value}")


if __name__ == "__main__":
    main()
