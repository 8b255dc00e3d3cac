"""The service-goal clock's heartbeat: every 30 seconds, send the warnings and breach
notices that are due (``notices.notices_run``).

django-tasks has no periodic tasks, so ``rapport worker`` starts this loop in a thread
beside the task runner (as it does its import watchdog), and the loop calls the notice run
directly rather than queueing it: a queue busy with a long import must not delay a breach
notice past its minute. Several workers may each run the loop: every notice is claimed by a
conditional update, so it still goes out once (decision 0028). Without a worker,
``manage.py sla_notices --loop`` runs the same loop, and ``sla_notices`` alone one pass
(for cron). ``RAPPORT_SLA_EVERY`` changes the period (seconds, 5 to 30).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connection

log = logging.getLogger("rapport.service.sla")


def period() -> int:
    try:
        value = int(os.environ.get("RAPPORT_SLA_EVERY", "30"))
    except ValueError:
        value = 30
    return max(5, min(30, value))


def run_once() -> None:
    from rapport.service.sla.notices import notices_run

    try:
        run = notices_run()
        if run.warnings or run.breaches:
            log.info(
                "service goals: %s warning(s), %s breach notice(s)", run.warnings, run.breaches
            )
    except Exception:  # noqa: BLE001 - the loop must outlive a database hiccup
        log.exception("service goals: the notice run failed")
    finally:
        connection.close()


def run_forever(stop: threading.Event | None = None) -> None:
    every = period()
    while stop is None or not stop.is_set():
        started = time.monotonic()
        run_once()
        wait = max(0.0, every - (time.monotonic() - started))
        if stop is not None:
            stop.wait(wait)
        else:
            time.sleep(wait)


def start_in_background() -> threading.Thread:
    thread = threading.Thread(target=run_forever, name="service-goal-clock", daemon=True)
    thread.start()
    return thread
