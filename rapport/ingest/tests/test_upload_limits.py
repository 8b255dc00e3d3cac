"""Import uploads: the size limit and each person's quota of stored files, both checked
before the file is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rapport.ingest.imports import storage
from rapport.ingest.models import ImportJob

CSV = b"Name,E-mail\nAda Lovelace,ada@example.com\n"


def _post(client, data: bytes = CSV):
    return client.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile("people.csv", data, content_type="text/csv"),
            "kind": "contacts",
            "start": "false",
        },
    )


@pytest.fixture
def saved(monkeypatch):
    names = []
    real = storage.save_upload

    def spy(stream, filename):
        result = real(stream, filename)
        names.append(result[0])
        return result

    monkeypatch.setattr(storage, "save_upload", spy)
    return names


def test_each_person_has_a_quota_of_stored_import_files(api_client, settings, saved):
    settings.IMPORT_USER_QUOTA_BYTES = 2 * len(CSV) + 10
    bob = api_client("bob")
    assert _post(bob).status_code in (201, 202)
    assert _post(bob).status_code in (201, 202)
    refused = _post(bob)
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    message = refused.json()["errors"]["file"][0]
    assert f"the quota is {2 * len(CSV) + 10:,} bytes per person" in message
    assert len(saved) == 2 and ImportJob.objects.count() == 2  # the third was not stored
    assert _post(api_client("mo")).status_code in (201, 202)  # another person's quota


def test_the_quota_is_shown_on_the_upload_form(personas, settings):
    settings.IMPORT_USER_QUOTA_BYTES = len(CSV) - 1
    client = Client()
    client.force_login(personas["bob"])
    response = client.post(
        reverse("ingest:import-create"),
        {
            "file": SimpleUploadedFile("people.csv", CSV, content_type="text/csv"),
            "kind": "contacts",
        },
    )
    assert response.status_code == 422
    assert "RAPPORT_IMPORT_USER_QUOTA_BYTES" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(api_client, settings, saved):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    response = _post(api_client("bob"))
    assert response.status_code == 422
    assert "the limit is 10" in response.json()["errors"]["file"][0]
    assert saved == []


@pytest.fixture
def unparsed(monkeypatch):
    """Fails the test if a multipart body is parsed (spooled) at all."""
    from django.http import multipartparser

    def refuse(self):
        raise AssertionError("the upload was read")

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", refuse)


BIG = b"Name,E-mail\n" + b"Ada Lovelace,ada@example.com\n" * 100_000  # 2.9 MB


def test_an_api_upload_over_the_limit_is_refused_from_its_content_length(
    api_client, settings, unparsed
):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    response = _post(api_client("bob"), BIG)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "at most 1,000 bytes" in response.json()["detail"]


def test_a_web_upload_over_the_limit_is_refused_before_it_is_read(personas, settings, unparsed):
    settings.RAPPORT_MAIL_UPLOAD_MAX_BYTES = 1000
    client = Client()
    client.force_login(personas["bob"])
    response = client.post(
        reverse("ingest:capture-mail"), {"file": SimpleUploadedFile("box.mbox", BIG)}
    )
    assert response.status_code == 413
    assert 'id="f-file-error"' in response.content.decode()
    assert "at most 1,000 bytes" in response.content.decode()
