"""Imports, mailboxes, proposals and capture (the four parts of ingest), for the
permission harness (``rapport.core.testing.permissions``): bob's import, bob's own
mailbox, and a title proposal for bob's contact."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.testing.permissions import OWNER, Case, World, may
from rapport.ingest.imports.selectors import MANAGING_ROLES
from rapport.ingest.mail.secrets import encrypt
from rapport.ingest.models import Mailbox, MailUpload, Proposal
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload
from rapport.users.models import Role

DEPENDS = ("customers",)
C, A, MB, P, V = "contact", "account", "mailbox", "proposal", "view"
CSV = csv_bytes([["Name", "E-mail"], ["Ida Import", "ida@example.com"]])


def build(world: World) -> None:
    bob = world.users[OWNER]
    job = upload(bob, CSV)
    done = run_import(bob, csv_bytes([["Name", "E-mail"], ["Una Undo", "una@example.com"]]))
    # Stored as it is once saved: saving checks the login on a server this world has not.
    mailbox = Mailbox.objects.create(
        owner=bob, created_by=bob, name="Bob's", host="imap.example.com", username="bob",
        password_encrypted=encrypt("pw"),
    )  # fmt: skip
    proposal = Proposal.objects.create(
        kind=Proposal.Kind.FACT, field="title", contact_id=world.ids["contact"],
        value={"title": "CFO"}, key=f"title:{world.ids['contact']}:cfo",
    )  # fmt: skip
    mail_upload = MailUpload.objects.create(uploaded_by=bob, file_name="b.mbox", status="done")
    world.ids.update(
        job=job.pk,
        done=done.pk,
        mailbox=mailbox.pk,
        proposal=proposal.pk,
        mail_upload=mail_upload.pk,
    )


def _import(success: int, *needs: tuple[str, str]):
    # An import is its uploader's, and the data managers'; anyone else gets 404.
    def expect(persona: str, role: str) -> int:
        if persona != OWNER and role not in MANAGING_ROLES:
            return 404
        return success if all(may(role, k, a) for k, a in needs) else 403

    return expect


def _mailbox(success: int, action: str = "change"):
    # bob's own mailbox: his always; others' need the mailbox right (404 without view).
    def expect(persona: str, role: str) -> int:
        if persona == OWNER or may(role, MB, action):
            return success
        return 403 if may(role, MB, V) else 404

    return expect


def _uploader(persona: str, role: str) -> int:
    # A mail file read by the worker is its uploader's and the admins'; 404 for anyone else.
    return 200 if persona == OWNER or role == Role.ADMIN else 404


def _files(name: str, data: bytes, field: str = "file"):
    return lambda world: {field: SimpleUploadedFile(name, data)}


VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Vera Card\r\nEMAIL:vera@example.com\r\nEND:VCARD\r\n"
EML = b"From: Nora North <nora@northwind.example>\r\nTo: bob@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"
IMPORT = ((C, "add"),)

CASES: list[Case] = [
    # imports
    Case(
        "post",
        "/imports",
        body=lambda w: {"file": SimpleUploadedFile("p.csv", CSV), "kind": "contacts"},
        multipart=True,
        success=202,
        needs=IMPORT,
    ),
    Case("get", "/imports"),
    Case("get", "/imports/{job}", expect=_import(200)),
    Case("patch", "/imports/{job}", body={"on_duplicate": "review"}, expect=_import(200)),
    Case("post", "/imports/{job}/start", expect=_import(202)),
    Case("post", "/imports/{job}/cancel", expect=_import(202)),
    # Resuming a job that was never stopped is a conflict, after the rights check.
    Case("post", "/imports/{job}/resume", expect=_import(409)),
    Case("post", "/imports/{done}/undo", expect=_import(202, (C, "delete"), (C, "change"))),
    Case("get", "/imports/{job}/preview", expect=_import(200)),
    Case("get", "/imports/{job}/rejections", expect=_import(200)),
    Case("get", "/imports/{job}/rejected.csv", expect=_import(200)),
    Case("get", "/imports/{job}/records", expect=_import(200)),
    Case("get", "/import-mappings", query="?kind=contacts", needs=IMPORT),
    Case(
        "post",
        "/import-mappings",
        body={"kind": "contacts", "name": "Mine", "columns": {"Name": "full_name"}},
        success=201,
        needs=IMPORT,
    ),  # fmt: skip
    Case("get", url="ingest:import-list"),
    Case("get", url="ingest:import-create", needs=IMPORT),
    Case("get", url="ingest:import-detail", args=("job",), expect=_import(200)),
    Case("get", url="ingest:import-progress", args=("job",), expect=_import(200)),
    Case("post", url="ingest:import-cancel", args=("job",), expect=_import(302)),
    Case("post", url="ingest:import-resume", args=("job",), expect=_import(409)),
    Case(
        "post",
        url="ingest:import-undo",
        args=("job",),
        expect=_import(409, (C, "delete"), (C, "change")),
    ),
    Case("get", url="ingest:import-rejected-csv", args=("job",), expect=_import(200)),
    # mailboxes
    Case("get", "/mailboxes"),
    Case(
        "post",
        "/mailboxes",
        body={"name": "Mine", "host": "imap.example.net", "username": "me", "password": "pw"},
        success=422,
        note="no IMAP server here: whoever may connect one reaches the login check, which refuses a server it cannot reach",
    ),  # fmt: skip
    Case("get", "/mailboxes/{mailbox}", expect=_mailbox(200, V)),
    Case("patch", "/mailboxes/{mailbox}", body={"name": "Renamed"}, expect=_mailbox(200)),
    Case("delete", "/mailboxes/{mailbox}", expect=_mailbox(204)),
    Case("post", "/mailboxes/{mailbox}/poll", expect=_mailbox(202)),
    Case("get", url="ingest:mailbox-list"),
    Case("get", url="ingest:mailbox-create"),
    Case(
        "post",
        url="ingest:mailbox-folders",
        body={"host": "imap.example.net", "username": "me", "password": "pw"},
    ),
    Case("get", url="ingest:mailbox-edit", args=("mailbox",), expect=_mailbox(200)),
    Case("get", url="ingest:mailbox-delete", args=("mailbox",), expect=_mailbox(200)),
    Case("post", url="ingest:mailbox-poll", args=("mailbox",), expect=_mailbox(302)),
    # proposals
    Case("get", "/proposals", needs=((P, V),)),
    Case("get", "/proposals/{proposal}", needs=((P, V),)),
    Case("post", "/proposals/{proposal}/accept", needs=((P, "change"),)),
    Case("post", "/proposals/{proposal}/reject", needs=((P, "change"),)),
    Case("get", "/capture-settings", needs=((P, "delete"),)),
    Case(
        "put",
        "/capture-settings",
        body={"rules": {}, "unknown_senders": True},
        needs=((P, "delete"),),
    ),
    Case("get", url="ingest:proposal-list", needs=((P, V),)),
    Case("get", url="ingest:proposal-detail", args=("proposal",), needs=((P, V),)),
    Case(
        "post",
        url="ingest:proposal-accept",
        args=("proposal",),
        success=302,
        needs=((P, "change"),),
    ),
    Case(
        "post",
        url="ingest:proposal-reject",
        args=("proposal",),
        success=302,
        needs=((P, "change"),),
    ),
    Case("get", url="ingest:capture-settings", needs=((P, "delete"),)),
    # capture
    Case(
        "post", "/capture/vcard", body=_files("v.vcf", VCARD), multipart=True, needs=((C, "add"),)
    ),
    Case(
        "post",
        "/capture/card-image",
        body=_files("card.png", b"not an image"),
        multipart=True,
        success=422,
        needs=((C, "add"),),
    ),  # fmt: skip
    Case(
        "post", "/capture/mail", body=_files("m.eml", EML), multipart=True, needs=((C, "change"),)
    ),
    Case("get", url="ingest:capture-card", needs=((C, "add"),)),
    Case("get", url="ingest:capture-vcard", needs=((C, "add"),)),
    Case("get", url="ingest:capture-mail", needs=((C, "change"),)),
    Case("get", "/capture/mail/uploads/{mail_upload}", expect=_uploader),
    Case("get", url="ingest:mail-upload-detail", args=("mail_upload",), expect=_uploader),
]
