"""Property-based run of the whole API against its published schema (schemathesis).

Every operation of /api/v1/openapi.json gets a bounded, deterministic set of generated
requests, sent to the Django app through WSGI with an admin's and a sales rep's bearer
token. No answer may be a server error, and every answer must match what the schema says
about that operation (status code documented, body of the documented shape).

No operation is excluded: none can remove the token the run uses (tokens are made with
``rapport token``, not through the API), and the mailbox poll and uploads are probed like
the rest. Five examples per operation and persona, derandomized, so a run is the same run
every time: one case per operation of the served schema (232 at the time of writing) and
persona.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import serialize_binary

from conftest import actor
from rapport.users.services import token_create

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@schemathesis.serializer("message/rfc822")
def _raw_message(ctx, value) -> bytes:
    # The inbound webhook takes the message as it is; any bytes will do to probe it.
    return serialize_binary(value)


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_in_test_transaction():
    # Django's test client does the same: closing "old" connections at the end of each
    # request would close the test's own transaction under it.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["alice", "bob"])  # an admin, and a sales rep in one team
def bearer(request, personas, wsgi_in_test_transaction) -> dict[str, str]:
    user = personas[request.param]
    _, secret = token_create(actor=actor(user, via="system"), user=user, name="schemathesis")
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_its_schema_says(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
