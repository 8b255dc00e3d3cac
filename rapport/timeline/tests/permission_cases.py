"""The timeline's API operations and pages, for the permission harness
(``rapport.core.testing.permissions``): a note with an attachment on bob's contact."""

from __future__ import annotations

from django.core.files.base import ContentFile

from rapport.audit.services import Actor
from rapport.core.testing.permissions import Case, World
from rapport.timeline import services
from rapport.timeline.models import Attachment

DEPENDS = ("customers",)
C, A, V = "contact", "account", "view"


def build(world: World) -> None:
    bob = world.users["bob"]
    entry = services.note_add(
        actor=Actor(user=bob, via="web"),
        kind="contact",
        pk=world.ids["contact"],
        body="Met at the fair",
    )
    attachment = Attachment(entry=entry, name="card.txt", content_type="text/plain", size=5)
    attachment.file.save("card.txt", ContentFile(b"hello"), save=True)
    world.ids.update(entry=entry.pk, attachment=attachment.pk)


CASES: list[Case] = [
    Case("get", "/contacts/{contact}/timeline", parent=C),
    Case("get", "/accounts/{account}/timeline", parent=A),
    Case(
        "post",
        "/timeline/entries",
        body={"kind": "call", "summary": "Called", "contacts": ["{contact}"]},
        success=201,
        parent=C,
        needs=((C, "change"),),
    ),  # fmt: skip
    Case("get", "/timeline/entries/{entry}", parent=C),
    Case("get", "/timeline/entries/{entry}/attachments/{attachment}", parent=C),
    Case(
        "post",
        "/contacts/{contact}/notes",
        body={"body": "Likes golf"},
        success=201,
        parent=C,
        needs=((C, "change"),),
    ),
    Case(
        "post",
        "/accounts/{account}/notes",
        body={"body": "Likes golf"},
        success=201,
        parent=A,
        needs=((A, "change"),),
    ),
    Case("get", "/lookup", query="?phone=%2B442079460018", needs=((C, V),)),
    # Pages.
    Case("get", url="timeline:contact-panel", args=("contact",), parent=C),
    Case("get", url="timeline:account-panel", args=("account",), parent=A),
    Case(
        "post",
        url="timeline:contact-note-add",
        args=("contact",),
        body={"body": "Likes golf"},
        success=302,
        parent=C,
        needs=((C, "change"),),
    ),
    Case(
        "post",
        url="timeline:account-note-add",
        args=("account",),
        body={"body": "Likes golf"},
        success=302,
        parent=A,
        needs=((A, "change"),),
    ),
    Case("get", url="timeline:lookup", query="?phone=%2B442079460018", needs=((C, V),)),
    Case(
        "post",
        url="timeline:call-log",
        args=("contact",),
        body={"summary": "Called", "duration_minutes": "3"},
        success=302,
        parent=C,
        needs=((C, "change"),),
    ),  # fmt: skip
    Case("get", url="timeline:attachment", args=("entry", "attachment"), parent=C),
]
