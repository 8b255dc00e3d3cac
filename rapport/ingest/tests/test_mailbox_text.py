"""Mailbox settings refuse control characters like every text field (issue 11, item 10):
PostgreSQL cannot store a NUL, and schemathesis found the 500 it caused."""

from __future__ import annotations

import pytest

from rapport.ingest.models import Mailbox

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.mark.parametrize("field", ["name", "host", "username", "password", "folders"])
def test_a_nul_in_a_mailbox_setting_is_a_field_error_and_nothing_is_saved(api_client, field):
    data = {
        "name": "Sales inbox",
        "host": "mail.example.org",
        "port": 993,
        "security": "ssl",
        "username": "sales@example.org",
        "password": "secret-password",
        "folders": ["INBOX"],
    }
    data[field] = [f"IN{NUL}BOX"] if field == "folders" else f"{data[field]}{NUL}"
    answer = api_client("bob").post("/api/v1/mailboxes", data, content_type="application/json")

    assert answer.status_code == 422
    assert "control character (NUL, U+0000)" in " ".join(answer.json()["errors"][field])
    assert not Mailbox.objects.exists()
