"""Polling IMAP mailboxes: connect, log in, list folders, and fetch the new messages of the
chosen folders onto the timeline through ``mail.receive``.

How a poll stays safe:

* **One poll per mailbox at a time.** A poll claims the mailbox with a conditional UPDATE
  of ``polling_since`` (free, or older than ``CLAIM_EXPIRES``: its worker died) and renews
  the claim as it goes; a poll that finds the mailbox claimed does nothing.
* **New messages only, resumable.** Each folder remembers the server's UIDVALIDITY and the
  highest UID handled. Each message is stored in its own transaction together with the
  move of ``last_uid``, so a poll that stops anywhere (the server dropped the connection,
  the worker was killed) resumes right after the last message it kept, and never leaves a
  half-stored one. A changed UIDVALIDITY starts the folder again from the beginning; the
  Message-ID check in ``mail.store`` keeps that from storing anything twice.
* **Nothing marked read.** Folders are opened read-only (EXAMINE) and fetched with
  ``BODY.PEEK[]``.
* **A bad message never blocks a folder.** One ``mail.receive`` cannot read is reported
  (the folder, its UID and why) and skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.audit.models import Via
from rapport.audit.services import Actor, audit_record
from rapport.ingest.mail import services as mail
from rapport.ingest.mail.secrets import SecretUnreadable, decrypt
from rapport.ingest.models import Mailbox, MailboxFolder

TIMEOUT = 30  # seconds for any one network operation
FETCH_BATCH = 20  # messages per UID FETCH
CLAIM_EXPIRES = dt.timedelta(minutes=10)  # a claim not renewed for this long is a dead worker's
ENTITY = "mailbox"
log = logging.getLogger("rapport.imap")


class ImapProblem(Exception):
    """The server could not be reached, refused the login, or dropped the connection."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClaimLost(Exception):
    """Another poll took the mailbox over (this one was silent too long) or it was deleted."""


# --- Connecting ----------------------------------------------------------------------------


def _why(exc: BaseException) -> str:
    """A short human reason for a network or protocol error."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (is the host and port right?)"
    if isinstance(exc, socket.gaierror):
        return "the host name could not be found"
    if isinstance(exc, ssl.SSLError):
        return f"the secure connection failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionError | EOFError):
        return "the server closed the connection"
    if isinstance(exc, imaplib.IMAP4.abort):
        text = str(exc)
        if "EOF" in text or "socket error" in text:
            return "the server closed the connection"
        return f"the connection broke ({text})"
    text = str(exc).strip()
    if isinstance(exc, bytes | bytearray):  # pragma: no cover - imaplib passes str
        text = exc.decode(errors="replace")
    return text or exc.__class__.__name__


class HostRefused(ImapProblem):
    """The host's address is one this installation does not connect to (not a network error)."""


# Always refused: no IMAP server listens on a multicast address. NAT64 and 6to4 addresses
# carry an IPv4 address inside them, and through a gateway reach it: refused with private
# hosts, since what they reach is not known from the address (Python counts them as global).
_TUNNELS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("2002::/16"))


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_multicast:
        return "it is a multicast address"
    if settings.RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in _TUNNELS):
        return "it is a NAT64 or 6to4 address (an IPv4 address through a gateway), which this installation does not allow for mailboxes"
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if not address.is_global or (mapped is not None and not mapped.is_global):
        return "it is an address on this machine or a private network, which this installation does not allow for mailboxes"
    return ""


def resolve_host(host: str, port: int) -> list[tuple[int, str]]:
    """The addresses to connect to, (family, address), each checked: resolved once, so the
    connection goes to the address that was checked (a second lookup could answer another).

    Private hosts are refused unless the installation allows them
    (``RAPPORT_MAILBOX_ALLOW_PRIVATE_HOSTS``, off in production): any user may connect their
    own mailbox, and must not make the server probe what sits behind it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ImapProblem(f"Cannot connect to {host}:{port}: {_why(exc)}.") from exc
    out: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0])
        address = ipaddress.ip_address(text.split("%")[0])
        reason = _refusal(address)
        if reason:
            raise HostRefused(f"Cannot connect to {host}:{port}: {reason}.")
        if (family, text) not in out:
            out.append((family, text))
    if not out:
        raise ImapProblem(f"Cannot connect to {host}:{port}: the host name could not be found.")
    return out


def check_host(host: str, port: int) -> None:
    """Refuse a host whose address may not be connected to (see ``resolve_host``)."""
    resolve_host(host, port)


def _pinned_socket(conn: Any, timeout: float | None) -> socket.socket:
    """A socket to the checked addresses, in order, never resolving the host name again."""
    if timeout is not None and not timeout:
        raise ValueError("Non-blocking socket (timeout=0) is not supported")
    error: OSError | None = None
    for family, address in conn.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((address, conn.port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


class _PinnedIMAP4(imaplib.IMAP4):
    def __init__(
        self, host: str, port: int, *, addresses: list[tuple[int, str]], timeout: float
    ) -> None:
        self.addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return _pinned_socket(self, timeout)


class _PinnedIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(
        self, host: str, port: int, *, addresses: list[tuple[int, str]], timeout: float
    ) -> None:
        self.addresses = addresses
        super().__init__(host, port, ssl_context=ssl.create_default_context(), timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        # The certificate is checked against the host name, on the address checked above.
        return self.ssl_context.wrap_socket(
            _pinned_socket(self, timeout), server_hostname=self.host
        )


def connect(*, host: str, port: int, security: str, timeout: float = TIMEOUT) -> imaplib.IMAP4:
    """An IMAP connection (not logged in) over SSL/TLS, STARTTLS or plain TCP, to an
    address checked by ``resolve_host``. STARTTLS that fails is a failed connection: never
    a fall back to plain text (a password would then cross the network readable)."""
    addresses = resolve_host(host, port)
    try:
        if security == Mailbox.Security.SSL:
            return _PinnedIMAP4_SSL(host, port, addresses=addresses, timeout=timeout)
        conn = _PinnedIMAP4(host, port, addresses=addresses, timeout=timeout)
        if security == Mailbox.Security.STARTTLS:
            try:
                conn.starttls(ssl_context=ssl.create_default_context())
            except BaseException:
                _close(conn)
                raise
        return conn
    except (OSError, EOFError, imaplib.IMAP4.error) as exc:
        raise ImapProblem(f"Cannot connect to {host}:{port}: {_why(exc)}.") from exc


def login(conn: imaplib.IMAP4, *, username: str, password: str, security: str) -> None:
    """Log in, refusing to send the password unencrypted unless the mailbox says "none"."""
    if security != Mailbox.Security.NONE and not isinstance(conn.sock, ssl.SSLSocket):
        _close(conn)
        raise ImapProblem(
            "The connection to the server is not encrypted (TLS was asked for but not set up); "
            "the password was not sent."
        )
    try:
        conn.login(username, password)
    except imaplib.IMAP4.abort as exc:
        _close(conn)
        raise ImapProblem(f"The server dropped the connection at login: {_why(exc)}.") from exc
    except imaplib.IMAP4.error as exc:
        _close(conn)
        raise ImapProblem(
            f"The server refused the login of {username!r}: {_why(exc)}. Check the user name and password."
        ) from exc
    except (OSError, EOFError) as exc:
        _close(conn)
        raise ImapProblem(f"The connection failed at login: {_why(exc)}.") from exc


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail in any way
        with contextlib.suppress(Exception):
            conn.shutdown()


def open_mailbox(
    mailbox: Mailbox, *, password: str | None = None, timeout: float = TIMEOUT
) -> imaplib.IMAP4:
    """A logged-in connection to ``mailbox`` (with its stored password unless one is given)."""
    if password is None:
        try:
            password = decrypt(mailbox.password_encrypted)
        except SecretUnreadable as exc:
            raise ImapProblem(str(exc)) from exc
    conn = connect(host=mailbox.host, port=mailbox.port, security=mailbox.security, timeout=timeout)
    login(conn, username=mailbox.username, password=password, security=mailbox.security)
    return conn


_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$')


def _unquote(name: bytes) -> str:
    text = name.decode("utf-8", errors="replace").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def list_folders(
    *, host: str, port: int, security: str, username: str, password: str, timeout: float = TIMEOUT
) -> list[str]:
    """The names of the folders a mailbox holds (the ones that can be opened), INBOX first."""
    conn = connect(host=host, port=port, security=security, timeout=timeout)
    login(conn, username=username, password=password, security=security)
    try:
        typ, data = conn.list()
    except (imaplib.IMAP4.error, OSError, EOFError) as exc:
        raise ImapProblem(f"The server could not list the folders: {_why(exc)}.") from exc
    finally:
        _close(conn)
    if typ != "OK":
        raise ImapProblem("The server could not list the folders.")
    names = []
    for item in data:
        if isinstance(item, tuple):  # the name came as a literal: {n}\r\nname
            line = item[0].rsplit(b"{", 1)[0] + b'"' + item[1].replace(b'"', b'\\"') + b'"'
        elif isinstance(item, bytes):
            line = item
        else:
            continue
        found = _LIST_LINE.match(line)
        if not found:
            continue
        if b"\\noselect" in found["flags"].lower() or b"\\nonexistent" in found["flags"].lower():
            continue
        names.append(_unquote(found["name"]))
    return sorted(set(names), key=lambda n: (n.upper() != "INBOX", n.lower()))


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- Polling -------------------------------------------------------------------------------


@dataclass
class FolderReport:
    name: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0
    problems: list[str] = field(default_factory=list)  # "INBOX UID 7: why", one a message
    error: str = ""  # why the folder could not be read to the end
    uid_validity_changed: bool = False


@dataclass
class PollSummary:
    mailbox_id: int
    polled: bool = True  # False: another poll had the mailbox, nothing was done
    error: str = ""  # the connection-level problem that stopped the poll
    folders: list[FolderReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)

    @property
    def fetched(self) -> int:
        return self.total("fetched")

    @property
    def stored(self) -> int:
        return self.total("stored")

    @property
    def problems(self) -> list[str]:
        return [p for f in self.folders for p in f.problems]

    @property
    def ok(self) -> bool:
        return (
            self.polled and not self.error and not any(f.error or f.problems for f in self.folders)
        )

    def describe(self) -> str:
        if not self.polled:
            return "Another poll of this mailbox is running; nothing was done."
        text = (
            f"{self.fetched} new messages: {self.stored} stored, {self.total('duplicates')} already there, "
            f"{self.total('unmatched')} matched no contact, {len(self.problems)} unreadable."
        )
        return f"{text} {self.error}" if self.error else text

    def error_text(self) -> str:
        """What goes into ``Mailbox.last_error``: every problem of this poll, one a line."""
        lines = [self.error] if self.error else []
        lines += [f.error for f in self.folders if f.error]
        lines += [f"Skipped an unreadable message: {p}" for p in self.problems]
        return "\n".join(lines)


class _Claim:
    """This poll's hold on the mailbox: the ``polling_since`` value it wrote."""

    def __init__(self, mailbox_id: int) -> None:
        self.mailbox_id = mailbox_id
        self.at: dt.datetime | None = None

    def take(self) -> bool:
        now = timezone.now()
        free = Q(polling_since__isnull=True) | Q(polling_since__lt=now - CLAIM_EXPIRES)
        if Mailbox.objects.filter(free, pk=self.mailbox_id).update(polling_since=now):
            self.at = now
            return True
        return False

    def renew(self) -> None:
        now = timezone.now()
        if self.at is not None and now - self.at < dt.timedelta(seconds=30):
            return  # recently renewed; spare the database a write per message
        if not Mailbox.objects.filter(pk=self.mailbox_id, polling_since=self.at).update(
            polling_since=now
        ):
            raise ClaimLost("Another poll took this mailbox over; this one stopped.")
        self.at = now

    def release(self, **fields: Any) -> None:
        Mailbox.objects.filter(pk=self.mailbox_id, polling_since=self.at).update(
            polling_since=None, **fields
        )


def poll(
    mailbox_id: int, *, actor: Actor, batch: int | None = None, timeout: float = TIMEOUT
) -> PollSummary:
    """Fetch the new messages of a mailbox's chosen folders onto the timeline.

    Returns what happened; a connection problem is not raised but reported in the summary
    and written to the mailbox's ``last_error`` (with the folder and UID it reached)."""
    summary = PollSummary(mailbox_id=mailbox_id)
    claim = _Claim(mailbox_id)
    if not claim.take():
        summary.polled = False
        return summary
    try:
        mailbox = Mailbox.objects.select_related("owner").get(pk=mailbox_id)
        _poll_claimed(
            mailbox, claim, summary, actor=actor, batch=batch or FETCH_BATCH, timeout=timeout
        )
    except ClaimLost as exc:
        summary.error = str(exc)
        return summary  # the mailbox is another poll's now (or gone): leave it alone
    except Mailbox.DoesNotExist:
        summary.error = "The mailbox was deleted."
        return summary
    except BaseException:
        now = timezone.now()
        claim.release(
            last_polled_at=now,
            last_error="The poll stopped on an unexpected error; see the worker's log.",
            last_error_at=now,
        )
        raise
    now = timezone.now()
    text = summary.error_text()
    claim.release(last_polled_at=now, last_error=text, last_error_at=now if text else None)
    return summary


def _poll_claimed(
    mailbox: Mailbox,
    claim: _Claim,
    summary: PollSummary,
    *,
    actor: Actor,
    batch: int,
    timeout: float,
) -> None:
    folders = [f for f in dict.fromkeys(mailbox.folders or ["INBOX"]) if f]
    try:
        conn = open_mailbox(mailbox, timeout=timeout)
    except ImapProblem as exc:
        summary.error = exc.reason
        return
    receive_actor = Actor(
        user=mailbox.owner,
        via=Via.IMPORT,
        context={"path": "imap", "mailbox": mailbox.pk, "requested_by": actor.name},
    )
    try:
        for name in folders:
            report = FolderReport(name=name)
            summary.folders.append(report)
            state, _ = MailboxFolder.objects.get_or_create(mailbox=mailbox, name=name)
            try:
                _poll_folder(conn, mailbox, state, report, claim, actor=receive_actor, batch=batch)
            except (imaplib.IMAP4.error, OSError, EOFError) as exc:
                summary.error = (
                    f"The connection to {mailbox.host} broke while reading folder {name!r} "
                    f"(its messages up to UID {state.last_uid} are stored; the next poll resumes "
                    f"after it): {_why(exc)}."
                )
                return
            except (ClaimLost, Mailbox.DoesNotExist):
                raise
            except Exception as exc:
                log.exception("mailbox %s: poll of %r stopped", mailbox.pk, name)
                summary.error = (
                    f"The poll stopped in folder {name!r} after UID {state.last_uid} on an unexpected "
                    f"error ({exc.__class__.__name__}: {exc}); the next poll tries again from there."
                )
                return
    finally:
        if not summary.error:
            _close(conn)
        else:
            with contextlib.suppress(Exception):  # the connection is already broken
                conn.shutdown()


_UID = re.compile(rb"UID (\d+)")


def _fetched(data: list[Any]) -> dict[int, bytes]:
    """{uid: raw message} from imaplib's answer to ``UID FETCH ... (UID BODY.PEEK[])``."""
    out: dict[int, bytes] = {}
    for i, item in enumerate(data):
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        head, raw = item[0], item[1]
        found = _UID.search(head)
        if not found and i + 1 < len(data) and isinstance(data[i + 1], bytes):
            found = _UID.search(data[i + 1])  # the UID may follow the literal
        if found and b"BODY[]" in head.upper():
            out[int(found.group(1))] = raw
    return out


def _poll_folder(
    conn: imaplib.IMAP4,
    mailbox: Mailbox,
    state: MailboxFolder,
    report: FolderReport,
    claim: _Claim,
    *,
    actor: Actor,
    batch: int,
) -> None:
    typ, data = conn.select(_quote(state.name), readonly=True)
    if typ != "OK":
        reason = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) else ""
        report.error = (
            f"Folder {state.name!r} could not be opened: {reason or 'the server refused'}."
        )
        return
    validity_raw = conn.untagged_responses.get("UIDVALIDITY", [b""])[-1]
    validity = (
        int(validity_raw) if isinstance(validity_raw, bytes) and validity_raw.isdigit() else None
    )
    if validity is not None and validity != state.uid_validity:
        with transaction.atomic():
            locked = MailboxFolder.objects.select_for_update().get(pk=state.pk)
            if locked.uid_validity is not None:
                report.uid_validity_changed = True
                locked.last_uid = 0  # the old UIDs mean nothing now; dedupe keeps this idempotent
            locked.uid_validity = validity
            locked.save(update_fields=["uid_validity", "last_uid", "updated_at"])
        state.uid_validity, state.last_uid = locked.uid_validity, locked.last_uid

    typ, data = conn.uid("SEARCH", "UID", f"{state.last_uid + 1}:*")
    if typ != "OK":
        report.error = f"Folder {state.name!r} could not be searched."
        return
    # "N:*" always matches the last message, even when its UID is below N.
    uids = sorted({int(u) for u in (data[0] or b"").split() if int(u) > state.last_uid})
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        typ, data = conn.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
        if typ != "OK":
            report.error = (
                f"Folder {state.name!r}: the server would not send UIDs {chunk[0]}-{chunk[-1]}."
            )
            return
        messages = _fetched(data)
        for uid in chunk:
            raw = messages.get(uid)
            if raw is None:
                continue  # deleted since the search
            claim.renew()
            _store_one(mailbox, state, uid, raw, report, actor=actor)


def _store_one(
    mailbox: Mailbox,
    state: MailboxFolder,
    uid: int,
    raw: bytes,
    report: FolderReport,
    *,
    actor: Actor,
) -> None:
    """Store one message and move the folder's mark past it, in one transaction."""
    with transaction.atomic():
        try:
            locked = MailboxFolder.objects.select_for_update().get(pk=state.pk)
        except MailboxFolder.DoesNotExist as exc:
            raise ClaimLost("The mailbox was deleted.") from exc
        if uid <= locked.last_uid:
            return  # already handled
        report.fetched += 1
        locked.messages_seen += 1
        try:
            with transaction.atomic():
                _, result = mail.receive(
                    raw, actor=Actor(actor.user, actor.via, {**actor.context, "uid": uid})
                )
        except DatabaseError:
            raise  # the database, not the message: stop here and retry this UID next time
        except Exception as exc:  # noqa: BLE001 - any message the reader chokes on is skipped
            if isinstance(exc, mail.MailProblem):
                reason = str(exc)
            else:
                log.exception(
                    "mailbox %s: %s UID %s could not be read", mailbox.pk, state.name, uid
                )
                reason = f"The message could not be read ({exc.__class__.__name__}: {exc})."
            problem = f"{state.name} UID {uid}: {reason}"
            report.problems.append(problem)
            audit_record(
                actor=actor,
                action="mail_unreadable",
                entity_kind=ENTITY,
                entity_id=mailbox.pk,
                object_kind="mailboxfolder",
                object_id=state.pk,
                changes={"message": [None, problem]},
            )
        else:
            if result.status == "stored":
                report.stored += 1
                locked.messages_stored += 1
            elif result.status == "duplicate":
                report.duplicates += 1
            else:
                report.unmatched += 1
        locked.last_uid = uid
        locked.save(update_fields=["last_uid", "messages_seen", "messages_stored", "updated_at"])
        state.last_uid = uid
