"""Where an import's file lives between upload and the end of the run.

Files go to Django's default storage (the data directory's ``media/imports`` unless
configured otherwise), named by a random id, never by the uploaded name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage

from rapport.ingest.imports.readers import Table, read_table
from rapport.ingest.models import ImportJob

CHUNK = 1024 * 1024


def save_upload(stream: IO[bytes], filename: str) -> tuple[str, str, int]:
    """Store a seekable stream (an upload, a local file); returns (storage name, SHA-256, size)."""
    ext = os.path.splitext(filename)[1].lower()
    ext = ext if ext in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm") else ".dat"
    sha, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    name = default_storage.save(f"imports/{uuid.uuid4().hex}{ext}", File(stream))
    return name, sha.hexdigest(), size


@contextlib.contextmanager
def open_file(job: ImportJob) -> Iterator[IO[bytes]]:
    with default_storage.open(job.file_path, "rb") as f:
        yield f


@contextlib.contextmanager
def open_table(job: ImportJob) -> Iterator[Table]:
    with open_file(job) as f:
        yield read_table(f, filename=job.file_name)


def delete(job: ImportJob) -> None:
    if job.file_path and default_storage.exists(job.file_path):
        default_storage.delete(job.file_path)
