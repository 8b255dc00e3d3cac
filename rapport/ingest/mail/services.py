"""E-mail onto the timeline: read a message (.eml or one from an mbox), find the contacts it
concerns by their addresses, and record it once on each of their timelines.

    message = mail.parse(raw_bytes)          # MailProblem if it cannot be read
    result = mail.store(message, actor=actor)  # stored, duplicate or unmatched
    summary = mail.ingest_file(path, actor)  # a whole .eml or mbox file, message by message

MIME is the standard library's ``email`` package (``policy.default``); this module only
decides what to keep. A message is stored once per Message-ID, whoever delivers it again.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.utils
import hashlib
import itertools
import mailbox
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser
from typing import Any, cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.customers.models import ContactEmail
from rapport.customers.normalize import normalize_email
from rapport.ingest.mail import events as mail_events
from rapport.ingest.mail import learners
from rapport.timeline import events
from rapport.timeline.models import Attachment, Entry
from rapport.users import permissions
from rapport.users.models import RecordKind, User

SOURCE = "mail"
DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024

Address = tuple[str, str]  # (display name, address as written or normalised)


class MailProblem(Exception):
    """A message that cannot be read; ``reason`` says why, in a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class MailAttachment:
    filename: str
    content_type: str
    size: int
    payload: bytes = field(repr=False)


@dataclass
class Message:
    message_id: str
    in_reply_to: str
    references: list[str]
    thread_id: str
    subject: str
    sent_at: dt.datetime
    from_: Address
    to: list[Address]
    cc: list[Address]
    text: str  # the whole readable body
    new_text: str  # what this message adds: quoted history folded away
    attachments: list[MailAttachment] = field(default_factory=list)
    # Attachments left out (too large): filename, content_type, size, reason.
    skipped: list[dict[str, Any]] = field(default_factory=list)


# --- Reading -------------------------------------------------------------------------------


def parse(raw: bytes) -> Message:
    """One RFC 5322 message, decoded: headers, readable text, attachments."""
    if not raw or not raw.strip():
        raise MailProblem("The message is empty.")
    msg = email.message_from_bytes(raw, policy=policy.default)
    if not isinstance(msg, EmailMessage):  # pragma: no cover - policy.default always gives one
        raise MailProblem("The message could not be read.")
    if not msg.keys():
        raise MailProblem("No headers: this is not an e-mail message.")
    problems = []
    senders = _addresses(msg, "from")
    if not senders:
        problems.append("no sender (the From header is missing or unreadable)")
    if any(isinstance(d, email_errors.StartBoundaryNotFoundDefect) for d in msg.defects):
        problems.append("its MIME parts are unreadable (the boundary never appears)")
    if problems:
        raise MailProblem("The message is broken: " + " and ".join(problems) + ".")

    message_id = _ids(_header(msg, "message-id"))[:1]
    own_id = message_id[0] if message_id else _generated_id(raw)
    in_reply_to = (_ids(_header(msg, "in-reply-to")) or [""])[0]
    references = _ids(_header(msg, "references"))
    text, body_parts = _body(msg)
    attachments, skipped = _attachments(msg, body_parts)
    return Message(
        message_id=own_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=references[0] if references else in_reply_to or own_id,
        subject=" ".join(_header(msg, "subject").split()),
        sent_at=_date(msg),
        from_=senders[0],
        to=_addresses(msg, "to"),
        cc=_addresses(msg, "cc"),
        text=text,
        new_text=fold_quoted(text),
        attachments=attachments,
        skipped=skipped,
    )


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
        return str(value).strip() if value is not None else ""
    except (ValueError, IndexError, TypeError, email_errors.HeaderParseError):
        # A header the parser chokes on counts as absent, not as a broken message.
        return ""


_ID = re.compile(r"<([^<>\s]+)>")


def _ids(value: str) -> list[str]:
    """Message ids without their angle brackets; a bare id is accepted too."""
    found = _ID.findall(value)
    if not found and value.strip():
        found = [value.strip().strip("<>").split()[0]]
    return [i[:250] for i in found]


def _generated_id(raw: bytes) -> str:
    # Stable: the same bytes delivered twice are one message.
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@generated.rapport"


def _addresses(msg: EmailMessage, name: str) -> list[Address]:
    out: list[Address] = []
    try:
        headers = msg.get_all(name) or []
        pairs = [(a.display_name, a.addr_spec) for h in headers for a in h.addresses]
    except (ValueError, IndexError, TypeError, AttributeError, email_errors.HeaderParseError):
        pairs = email.utils.getaddresses([_header(msg, name)])
    for display, addr in pairs:
        addr = (addr or "").strip()
        if not addr or "@" not in addr:
            continue
        try:
            addr = normalize_email(addr)[0]
        except ValueError:
            addr = addr.lower()  # kept for the record; no contact will match it
        out.append((" ".join((display or "").split()), addr))
    return out


def _date(msg: EmailMessage) -> dt.datetime:
    value = _header(msg, "date")
    try:
        when = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None:
        return timezone.now()
    if timezone.is_naive(when):  # "-0000": the sender's zone is unknown; UTC is the rule
        when = when.replace(tzinfo=dt.UTC)
    return when


def _decode(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "").lower()
    if charset in ("", "us-ascii", "ascii"):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            charset = "windows-1252"
    # As browsers do: a message labelled Latin-1 is Windows-1252 (its "€", curly quotes…).
    if charset in ("iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1"):
        charset = "windows-1252"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return payload.decode(charset, errors="replace")


def _body(msg: EmailMessage) -> tuple[str, list[MIMEPart]]:
    """The readable text, and the parts it came from (not attachments)."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    if plain is not None:
        text = _decode(plain)
    elif html is not None:
        text = html_to_text(_decode(html))
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, [p for p in (plain, html) if p is not None]


def _attachments(
    msg: EmailMessage, body_parts: list[MIMEPart]
) -> tuple[list[MailAttachment], list[dict[str, Any]]]:
    limit = int(getattr(settings, "MAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))
    kept: list[MailAttachment] = []
    skipped: list[dict[str, Any]] = []
    for part in msg.walk():
        if part.is_multipart() or any(part is b for b in body_parts):
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue  # an alternative body or an unnamed inline part
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        name = os.path.basename((filename or "attachment").replace("\\", "/")) or "attachment"
        content_type = part.get_content_type()
        if len(payload) > limit:
            skipped.append(
                {
                    "filename": name,
                    "content_type": content_type,
                    "size": len(payload),
                    "reason": f"larger than {limit:,} bytes",
                }
            )
            continue
        kept.append(MailAttachment(name, content_type, len(payload), payload))
    return kept, skipped


class _TextExtractor(HTMLParser):
    BLOCKS = {
        "p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "hr", "section", "article", "header", "footer", "pre", "dd", "dt",
    }  # fmt: skip
    HIDDEN = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
            if tag == "li":
                self.chunks.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS and tag != "li":
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            # HTML's white space: runs of spaces and newlines in the source are one space.
            self.chunks.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text from HTML: tags gone, blocks on their own lines, no script or style."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.chunks).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Where quoted history starts: "On … wrote:" (also wrapped over two lines, and in a few
# languages), Outlook's "-----Original Message-----" or its line of underscores, or ">".
_ATTRIBUTION = re.compile(
    r"^(on|le|am|el|il|op)\s.*\b(wrote|a écrit|schrieb|escribió|ha scritto|schreef)\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(r"^(-{3,}\s*original message\s*-{3,}|_{10,})\s*$", re.IGNORECASE)


def fold_quoted(text: str) -> str:
    """The text a reply adds: everything before its quoted history (the whole text when
    nothing is quoted, or when nothing comes before the quote)."""
    lines = text.split("\n")
    cut = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        wrapped = stripped.lower().startswith("on ") and _ATTRIBUTION.match(
            f"{stripped} {following}"
        )
        if (
            stripped.startswith(">")
            or _ORIGINAL.match(stripped)
            or _ATTRIBUTION.match(stripped)
            or wrapped
        ):
            cut = i
            break
    if cut is None:
        return text
    new = "\n".join(lines[:cut]).strip()
    return new or text


# --- Storing -------------------------------------------------------------------------------


@dataclass
class StoreResult:
    status: str  # "stored", "duplicate" or "unmatched"
    entry: Entry | None = None
    contacts: list[int] = field(default_factory=list)
    # For an unmatched message: who sent it, and the outside addresses no contact has.
    sender: Address | None = None
    unknown: list[Address] = field(default_factory=list)


@dataclass
class _Known:
    """Who the addresses of some messages belong to: staff users, and contacts with their
    owner (whose visibility decides whether a message may land on them)."""

    staff: dict[str, User]
    owners: dict[str, set[int]]
    contact_owner: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def of(cls, messages: list[Message]) -> _Known:
        addresses = list(dict.fromkeys(a for m in messages for _, (_, a) in _participants(m)))
        staff_query = Q()
        for addr in addresses:
            staff_query |= Q(email__iexact=addr)
        staff = {u.email.lower(): u for u in User.objects.filter(staff_query)} if addresses else {}
        owners: dict[str, set[int]] = {}
        contact_owner: dict[int, int | None] = {}
        for email_addr, contact_id, owner_id in ContactEmail.objects.filter(
            email__in=addresses
        ).values_list("email", "contact_id", "contact__owner_id"):
            owners.setdefault(email_addr, set()).add(contact_id)
            contact_owner[contact_id] = owner_id
        return cls(staff, owners, contact_owner)

    def visible_to(self, actor: Actor) -> Callable[[int], bool]:
        """Whether the one who brings a message in may see a contact (the rule of decision
        0012: mail lands only on contacts its bringer may see)."""
        owner_ids = permissions.visible_owner_ids(actor.user, "contact")
        if owner_ids is None:
            return lambda contact_id: True
        allowed = set(owner_ids)
        return lambda contact_id: self.contact_owner.get(contact_id) in allowed


def _participants(message: Message) -> list[tuple[str, Address]]:
    return (
        [("from", message.from_)]
        + [("to", a) for a in message.to]
        + [("cc", a) for a in message.cc]
    )


def _draft(message: Message, known: _Known, actor: Actor) -> events.Draft | StoreResult:
    """The timeline entry of a message, or an unmatched result when no contact is in it."""
    participants = _participants(message)
    staff = known.staff
    visible = known.visible_to(actor)
    roles: dict[int, str] = {}
    rank: dict[str, int] = {"from": 0, "to": 1, "cc": 2}  # a contact in two places: the first
    seen: set[str] = set()  # addresses of contacts the bringer may see
    for role, (_, addr) in participants:
        for contact_id in known.owners.get(addr, ()):
            if not visible(contact_id):
                continue  # another team's contact: as if nobody had the address
            seen.add(addr)
            if contact_id not in roles or rank[role] < rank[roles[contact_id]]:
                roles[contact_id] = role
    if not roles:
        unknown = [p for _, p in participants if p[1] not in staff and p[1] not in seen]
        return StoreResult("unmatched", sender=message.from_, unknown=list(dict.fromkeys(unknown)))

    outbound = message.from_[1] in staff
    staff_user = staff.get(message.from_[1]) if outbound else None
    if staff_user is None:
        # The staff member is a staff recipient, if any: never the one who uploaded the file
        # or whose token posted it (they brought the message; they did not take part in it).
        staff_user = next((staff[a] for _, (_, a) in participants if a in staff), None)
    first_line = next((ln.strip() for ln in message.new_text.split("\n") if ln.strip()), "")
    data = {
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "in_reply_to": message.in_reply_to,
        "from": message.from_[1],
        "from_name": message.from_[0],
        "to": [a for _, a in message.to],
        "cc": [a for _, a in message.cc],
        "subject": message.subject,
        "text_length": len(message.text),
        "attachments_skipped": message.skipped,
    }
    return mail_events.email_entry(
        summary=message.subject or first_line or "(no subject)",
        contacts=list(roles),
        roles=roles,
        occurred_at=message.sent_at,
        outbound=outbound,
        staff=staff_user,
        body=message.new_text,
        source=SOURCE,
        message_id=message.message_id,
        data=data,
    )


def store(message: Message, *, actor: Actor) -> StoreResult:
    """Record a message once on the timeline of every contact among its sender and
    recipients that the one who brings it in (``actor``) may see, with their role. From a
    staff address it is outbound, otherwise inbound. A message none of whose contacts the
    bringer may see is not stored but returned as unmatched, with its outside addresses,
    whoever else has it. A Message-ID already recorded is the same entry: it is put on the
    bringer's contacts that it is not on yet ("stored") or else is a duplicate; a bringer
    who sees none of its contacts gets "unmatched", as if nobody had stored it."""
    draft = _draft(message, _Known.of([message]), actor)
    if isinstance(draft, StoreResult):
        return draft
    existing = Entry.objects.from_source(SOURCE, message.message_id)
    if existing is not None:
        return _again(existing, draft)
    saved: list[str] = []
    try:
        with transaction.atomic():
            entry = mail_events.email_received(draft)
            for att in message.attachments:
                row = Attachment(
                    entry=entry,
                    name=att.filename[:255],
                    content_type=att.content_type[:100],
                    size=att.size,
                )
                row.file.save(att.filename, ContentFile(att.payload), save=False)
                saved.append(row.file.name)
                row.save()
    except BaseException:
        # The rows roll back; the files written so far must not outlive them.
        for name in saved:
            default_storage.delete(name)
        raise
    return StoreResult("stored", entry=entry, contacts=sorted(draft.roles or {}))


def _again(entry: Entry, draft: events.Draft) -> StoreResult:
    """A message stored before, brought again: onto the bringer's contacts (``draft``
    holds only those) that do not have it yet."""
    roles = draft.roles or {}
    added = events.link_contacts(entry=entry, roles=roles)
    return StoreResult("stored" if added else "duplicate", entry=entry, contacts=sorted(roles))


def store_many(messages: list[Message], *, actor: Actor) -> list[StoreResult]:
    """``store`` for many messages at once, as a file brings them: the addresses of all of
    them looked up together, their entries written together (``events.record_many``).
    A message with attachments goes through ``store`` on its own (its files). Runs in the
    caller's transaction; a concurrent writer of the same Message-ID raises
    IntegrityError, and the caller falls back to ``store`` message by message."""
    known = _Known.of(messages)
    results: list[StoreResult | None] = [None] * len(messages)
    drafts: list[tuple[int, events.Draft]] = []
    seen: dict[str, int] = {}
    for i, message in enumerate(messages):
        if message.attachments:
            results[i] = store(message, actor=actor)
            continue
        draft = _draft(message, known, actor)
        if isinstance(draft, StoreResult):
            results[i] = draft
        else:
            drafts.append((i, draft))
    existing = (
        {
            e.external_id: e
            for e in Entry.objects.filter(
                ~Q(external_id=""),
                source=SOURCE,
                external_id__in=[d.external_id for _, d in drafts],
            )
        }
        if drafts
        else {}
    )
    fresh = []
    for i, draft in drafts:
        if draft.external_id in existing:
            results[i] = _again(existing[draft.external_id], draft)
        elif draft.external_id in seen:
            results[i] = None  # filled below: a second copy in this file
        else:
            seen[draft.external_id] = i
            fresh.append((i, draft))
    entries = mail_events.emails_received([d for _, d in fresh])
    for (i, draft), entry in zip(fresh, entries, strict=True):
        results[i] = StoreResult("stored", entry=entry, contacts=sorted(draft.roles or {}))
    for i, draft in drafts:
        if results[i] is None:
            first = results[seen[draft.external_id]]
            results[i] = StoreResult(
                "duplicate",
                entry=first.entry if first else None,
                contacts=sorted(draft.roles or {}),
            )
    assert all(r is not None for r in results)
    return cast(list[StoreResult], results)


def receive(raw: bytes, *, actor: Actor) -> tuple[Message, StoreResult]:
    """The one way a message comes in, whatever the channel (file, IMAP, webhook): read it
    (MailProblem if it cannot be), store it, then learn from it: facts in the signature of
    a known contact, a proposed contact for an unknown sender (the learners registered in
    ``mail.learners``: ``proposals.from_mail``)."""
    message = parse(raw)
    result = store(message, actor=actor)
    learners.learn_now(message=message, result=result, actor=actor)
    return message, result


def receive_many(
    raws: list[bytes], *, actor: Actor
) -> list[tuple[Message, StoreResult] | MailProblem]:
    """``receive`` for the messages of one delivery (an IMAP poll's fetch): each read, then
    stored together (``store_many``: the addresses of all looked up at once) and learned
    from together (``learners.learn_now_many``), in the caller's transaction. What comes
    back is, in the order of ``raws``, each message with its result, or the MailProblem of
    one that could not be read. The rules are ``receive``'s: a message from a sender who
    wrote earlier in the same delivery is stored after what was learned from the earlier
    one (a stranger's first message may have made them a contact), so such a delivery is
    stored in runs. Any other exception propagates: the caller rolls the delivery back and
    receives its messages one by one."""
    out: list[tuple[Message, StoreResult] | MailProblem | None] = [None] * len(raws)
    run: list[tuple[int, Message]] = []
    senders: set[str] = set()

    def flush() -> None:
        results = store_many([m for _, m in run], actor=actor)
        pairs = [(m, r) for (_, m), r in zip(run, results, strict=True)]
        learners.learn_now_many(pairs=pairs, actor=actor)
        for (i, _), pair in zip(run, pairs, strict=True):
            out[i] = pair
        run.clear()
        senders.clear()

    for i, raw in enumerate(raws):
        try:
            message = parse(raw)
        except MailProblem as exc:
            out[i] = exc
            continue
        if message.from_[1] in senders:
            flush()
        senders.add(message.from_[1])
        run.append((i, message))
    if run:
        flush()
    assert all(o is not None for o in out)
    return cast(list[tuple[Message, StoreResult] | MailProblem], out)


# --- Files ---------------------------------------------------------------------------------


def read_mbox(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Each message of an mbox file, as its raw bytes (without the "From " line)."""
    box = mailbox.mbox(os.fspath(path), create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


def read_messages(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The messages of a file: an mbox (it starts with a "From " line) or one message."""
    with open(path, "rb") as f:
        head = f.read(5)
    if head == b"From ":
        yield from read_mbox(path)
    else:
        with open(path, "rb") as f:
            yield f.read()


@dataclass
class Outcome:
    """What became of one message of a file."""

    number: int
    label: str  # "message 2 (Quote for 40 chairs)"
    status: str  # stored, duplicate, unmatched or error
    reason: str = ""
    entry_id: int | None = None
    sender: str = ""
    sender_name: str = ""
    skipped: list[dict[str, Any]] = field(default_factory=list)  # attachments left out


@dataclass
class Summary:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: list[Address] = field(default_factory=list)  # each unmatched message's sender
    errors: list[tuple[str, str]] = field(default_factory=list)  # (which message, reason)
    messages: list[Outcome] = field(default_factory=list)  # with ``outcomes=True`` only

    def count(self, status: str) -> int:
        return sum(1 for m in self.messages if m.status == status)

    @property
    def skipped_attachments(self) -> list[tuple[Outcome, dict[str, Any]]]:
        return [(m, s) for m in self.messages for s in m.skipped]


# Messages per transaction when reading a file. Each message still has its own savepoint,
# so a broken one is rolled back alone; the batch saves a durable commit per message (an
# fsync with SQLite's synchronous=FULL), which was a third of the time per message.
FILE_BATCH = 50


def _outcome(number: int, message: Message, result: StoreResult) -> Outcome:
    outcome = Outcome(
        number=number,
        label=f"message {number} ({message.subject or message.message_id})",
        status=result.status,
    )
    outcome.entry_id = result.entry.pk if result.entry else None
    outcome.sender_name, outcome.sender = result.sender or message.from_
    outcome.skipped = list(message.skipped)
    return outcome


def _one_by_one(number: int, message: Message, actor: Actor) -> Outcome:
    """One message in a savepoint of its own: whatever fails rolls back that message only."""
    try:
        with transaction.atomic():
            result = store(message, actor=actor)
            _learn(message, result, actor)
    except Exception as exc:  # one bad message must not stop the file
        label = f"message {number} ({message.subject or message.message_id})"
        return Outcome(
            number=number, label=label, status="error", reason=f"{type(exc).__name__}: {exc}"
        )
    return _outcome(number, message, result)


def _learn(message: Message, result: StoreResult, actor: Actor) -> None:
    learners.learn_now(message=message, result=result, actor=actor)


def _ingest_batch(batch: list[tuple[int, bytes]], actor: Actor, learn: str) -> list[Outcome]:
    """Read a batch of messages, then store them together (``store_many``) in one
    transaction; if that fails (a broken message, a concurrent writer), store them one by
    one, each in its own savepoint, so only the guilty one is reported."""
    outcomes: dict[int, Outcome] = {}
    parsed: list[tuple[int, Message]] = []
    for number, raw in batch:
        try:
            parsed.append((number, parse(raw)))
        except MailProblem as exc:
            outcomes[number] = Outcome(
                number=number, label=f"message {number}", status="error", reason=exc.reason
            )
        except Exception as exc:  # an unreadable message must not stop the file
            outcomes[number] = Outcome(
                number=number,
                label=f"message {number}",
                status="error",
                reason=f"{type(exc).__name__}: {exc}",
            )
    later: list[int] = []
    try:
        with transaction.atomic():
            results = store_many([m for _, m in parsed], actor=actor)
            for (number, message), result in zip(parsed, results, strict=True):
                outcomes[number] = _outcome(number, message, result)
                if result.status == "stored" and learn == "background" and result.entry is not None:
                    later.append(result.entry.pk)
                else:
                    _learn(message, result, actor)
    except Exception:
        later = []
        with transaction.atomic():
            for number, message in parsed:
                outcomes[number] = _one_by_one(number, message, actor)
    if later:
        learners.learn_later(entry_ids=later, actor=actor)
    return [outcomes[number] for number, _ in batch]


def require_mail_file(user: Any) -> None:
    """A file of mail adds to existing contacts' timelines: PermissionDenied unless the user
    may change contacts (the upload pages, the API and ``rapport ingest mail`` alike)."""
    permissions.require(user, "change", RecordKind.CONTACT)


def ingest_file(
    path: str | os.PathLike[str],
    actor: Actor,
    *,
    outcomes: bool = False,
    learn: str = "background",
    max_outcomes: int | None = None,
) -> Summary:
    """Every message of a .eml or mbox file onto the timeline, ``FILE_BATCH`` at a time: a
    broken message is counted with its reason and never stops or half-writes another.
    Running it again stores nothing twice (Message-ID). Facts from the signatures of stored
    messages are learned by the worker (``learn="background"``, so that reading a file is
    bound by storing it) or at once (``"inline"``); the senders of unmatched messages are
    always proposed at once. With ``outcomes`` the summary lists every message's outcome
    (the first ``max_outcomes`` of them: a worker reading a large mbox keeps the counts of
    all and the list of a page's worth)."""
    require_mail_file(actor.user)
    summary = Summary()
    messages = enumerate(read_messages(path), start=1)
    while True:
        batch = list(itertools.islice(messages, FILE_BATCH))
        if not batch:
            break
        for outcome in _ingest_batch(batch, actor, learn):
            summary.read += 1
            if outcomes and (max_outcomes is None or len(summary.messages) < max_outcomes):
                summary.messages.append(outcome)
            if outcome.status == "stored":
                summary.stored += 1
            elif outcome.status == "duplicate":
                summary.duplicates += 1
            elif outcome.status == "unmatched":
                summary.unmatched.append((outcome.sender_name, outcome.sender))
            else:
                summary.errors.append((outcome.label, outcome.reason))
    return summary
