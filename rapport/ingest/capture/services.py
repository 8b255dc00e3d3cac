"""Who may capture, and reading a card photo: the rules every path of captures shares.

A card (a vCard file, a photographed card once corrected) becomes a contact, so capturing
cards needs the right to add contacts; ``vcard.capture`` and ``vcard.ingest_bytes`` check it
themselves, whoever calls them (the pages, the API, ``rapport ingest vcard``). Reading a
photo saves nothing but shows what a contact would be, so it needs the same right. The
pages and the API ask ``require_card_capture`` before they read their input, so a refused
user is refused before anything about the upload is said.

Files of mail are mail's (``mail.services.require_mail_file``): they add to existing
contacts' timelines, which needs the right to change contacts.
"""

from __future__ import annotations

from typing import Any

from rapport.core.actor import Actor
from rapport.ingest.capture import cardocr
from rapport.users import permissions
from rapport.users.models import RecordKind


def require_card_capture(user: Any) -> None:
    """Cards become contacts: PermissionDenied unless the user may add contacts."""
    permissions.require(user, "add", RecordKind.CONTACT)


def card_read(*, actor: Actor, data: bytes, filename: str = "") -> cardocr.CardReading:
    """The text and contact fields of a card photo (OCR); nothing is saved.
    CardImageError (naming the file) if it is not a photo that can be read."""
    require_card_capture(actor.user)
    return cardocr.read_card(data, filename=filename)
