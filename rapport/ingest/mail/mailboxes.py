"""Writes and reads of IMAP mailboxes: create, change, delete, poll, and which are due.

Who may do what: every active user manages their own mailbox (``owner`` is them); shared
mailboxes (no owner) and other people's need the MAILBOX permission for the action
(admins by default). The password is stored encrypted and never written to the audit
trail: a change to it is recorded as "changed".
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from rapport.audit.services import Actor, audit_record, diff, snapshot
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.core.transactions import enqueue_after_commit
from rapport.customers import normalize
from rapport.ingest.mail import imap
from rapport.ingest.mail.secrets import SecretUnreadable, decrypt, encrypt
from rapport.ingest.mail.selectors import mailboxes_due
from rapport.ingest.models import Mailbox
from rapport.users import permissions
from rapport.users.models import RecordKind

ENTITY = "mailbox"
SETTINGS = [
    "name",
    "owner",
    "host",
    "port",
    "security",
    "username",
    "folders",
    "poll_minutes",
    "enabled",
    "opens_leads",
    "address",
]
# Changing where the mailbox is makes the stored password (and the UIDs) someone else's.
SERVER_FIELDS = ("host", "port", "username")
MAX_POLL_MINUTES = 7 * 24 * 60


# --- permissions ---------------------------------------------------------------------------


def can_manage(user: Any, mailbox: Mailbox, action: str = "change") -> bool:
    """The owner always; shared and other people's mailboxes with the MAILBOX permission."""
    if permissions.is_system(user):
        return True
    if not getattr(user, "is_active", False):
        return False
    if mailbox.owner_id is not None and mailbox.owner_id == user.pk:
        return True
    return permissions.can(user, action, RecordKind.MAILBOX)


def can_add_shared(user: Any) -> bool:
    return permissions.is_system(user) or permissions.can(user, "add", RecordKind.MAILBOX)


def _require(actor: Actor, mailbox: Mailbox, action: str) -> None:
    if not can_manage(actor.user, mailbox, action):
        if can_manage(actor.user, mailbox, "view"):
            raise PermissionDenied("You may not change this mailbox.")
        raise NotFound("No such mailbox.")


# --- reads ---------------------------------------------------------------------------------


def mailbox_list(*, actor: Actor) -> QuerySet[Mailbox]:
    """The mailboxes the actor may see: their own, and all of them with the view right."""
    qs = (
        Mailbox.objects.select_related("owner")
        .prefetch_related("folder_states")
        .order_by("name", "pk")
    )
    user = actor.user
    if permissions.is_system(user) or permissions.can(user, "view", RecordKind.MAILBOX):
        return qs
    return qs.filter(owner_id=user.pk)


def mailbox_get(*, actor: Actor, mailbox_id: int, action: str = "view") -> Mailbox:
    mailbox = Mailbox.objects.select_related("owner").filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound("No such mailbox.")
    _require(actor, mailbox, action)
    return mailbox


def mailboxes_enqueue_due() -> list[int]:
    """Queue a poll of every mailbox that is due (the worker's watchdog calls this)."""
    from rapport.ingest.mail.tasks import mailbox_poll_task

    ids = mailboxes_due()
    for pk in ids:
        mailbox_poll_task.enqueue(pk, due_only=True)
    return ids


# --- writes --------------------------------------------------------------------------------


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Checked and normalised settings; ValidationFailed lists every problem at once."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, limit in (("name", 100), ("host", 255), ("username", 255)):
        if name in data or creating:
            value = str(data.get(name) or "").strip()
            if not value:
                errors[name] = ["This field is required."]
            elif len(value) > limit:
                errors[name] = [f"At most {limit} characters."]
            out[name] = value
    if "host" in out and any(c.isspace() or c == "/" for c in out["host"]):
        errors["host"] = ["Give a host name or address, without spaces or slashes."]
    if "security" in data or creating:
        security = data.get("security") or Mailbox.Security.SSL
        if security not in Mailbox.Security.values:
            errors["security"] = [f"Choose one of: {', '.join(Mailbox.Security.values)}."]
        out["security"] = security
    if "port" in data or creating:
        default = 143 if out.get("security", data.get("security")) in ("starttls", "none") else 993
        try:
            port = int(data.get("port") or default)
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            errors["port"] = ["Give a port between 1 and 65535."]
        out["port"] = port
    if "password" in data:
        password = data.get("password") or ""
        if password:
            out["password"] = str(password)
    if creating and not out.get("password"):
        errors["password"] = ["This field is required."]
    if "folders" in data or creating:
        raw = data.get("folders")
        if raw is None:
            raw = ["INBOX"]
        if isinstance(raw, str):
            raw = raw.replace(",", "\n").splitlines()
        folders = list(dict.fromkeys(str(f).strip() for f in raw if str(f).strip()))
        if not folders:
            errors["folders"] = ["Choose at least one folder."]
        elif any(len(f) > 255 for f in folders):
            errors["folders"] = ["A folder name has at most 255 characters."]
        out["folders"] = folders
    if "poll_minutes" in data or creating:
        try:
            minutes = int(data.get("poll_minutes") or 5)
        except (TypeError, ValueError):
            minutes = 0
        if not 0 < minutes <= MAX_POLL_MINUTES:
            errors["poll_minutes"] = [f"Give a number of minutes between 1 and {MAX_POLL_MINUTES}."]
        out["poll_minutes"] = minutes
    if "enabled" in data:
        out["enabled"] = bool(data["enabled"])
    if "opens_leads" in data:
        out["opens_leads"] = bool(data["opens_leads"])
    if data.get("address"):
        try:
            out["address"] = normalize.normalize_email(str(data["address"]))[0]
        except ValueError as exc:
            errors["address"] = [str(exc)]
    elif "address" in data:
        out["address"] = ""
    # Control characters (PostgreSQL cannot store a NUL) are refused as in every text field.
    for name in ("name", "host", "username", "password"):
        if name in out and name not in errors:
            try:
                normalize.check_text(out[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    if "folders" in out and "folders" not in errors:
        for folder in out["folders"]:
            try:
                normalize.check_text(folder)
            except ValueError as exc:
                errors["folders"] = [str(exc)]
                break
    if errors:
        raise ValidationFailed("The mailbox settings have problems.", errors=errors)
    return out


def _unique_login_error(mailbox: Mailbox) -> ValidationFailed:
    return ValidationFailed(
        "This mailbox is already connected.",
        errors={
            "username": [f"{mailbox.username} on {mailbox.host} is already connected in Rapport."]
        },
    )


def _check_login(mailbox: Mailbox, password: str) -> None:
    """Log in once with these settings, before anything is said about the login being
    connected already: a refused password is refused now (the same answer whether or not
    the login is in Rapport), and so is a server that cannot be reached, for every login
    alike. A login is saved only once it has been checked, so an outage cannot tell a login
    connected by someone else ("could not be checked") from a fresh one ("saved"): both are
    refused the same way until the server answers (issue 11).

    The login is unique in Rapport, so a second connection of it is refused; checking the
    password first means only someone who holds it learns that the login is connected
    already (they could read the mailbox anyway). Anyone else gets the server's refusal,
    as for a login nobody connected."""
    try:
        conn = imap.connect(host=mailbox.host, port=mailbox.port, security=mailbox.security)
    except imap.ImapProblem as exc:
        # What went wrong before any login was tried: the same for every login of the host.
        reason = f"{mailbox.host} could not be reached to check this login ({exc}); try again later."
        raise ValidationFailed(
            "The mailbox could not be checked.", errors={"host": [reason]}
        ) from None
    try:
        imap.login(conn, username=mailbox.username, password=password, security=mailbox.security)
    except imap.ImapProblem as exc:
        raise ValidationFailed(
            "The server refused the login.", errors={"password": [str(exc)]}
        ) from None
    with contextlib.suppress(Exception):
        conn.logout()


def _check_address(mailbox: Mailbox) -> None:
    """Refuse, when saving, a host this installation would not connect to (a private one in
    production): a poll would refuse it anyway, and the mailbox must not be stored as if it
    worked. A host that cannot be resolved now may be saved (its polls report it)."""
    try:
        imap.check_host(mailbox.host, mailbox.port)
    except imap.HostRefused as exc:
        raise ValidationFailed(
            "This server cannot be used.", errors={"host": [exc.reason]}
        ) from None
    except imap.ImapProblem:
        pass


def _check_leads(mailbox: Mailbox) -> None:
    """Only a shared mailbox (sales@) opens leads: a person's own mail is not a lead desk."""
    if mailbox.opens_leads and mailbox.owner_id is not None:
        problem = "Only a shared mailbox (no owner) opens sales leads."
        raise ValidationFailed(problem, errors={"opens_leads": [problem]})


def _taken(host: str, username: str, exclude: int | None = None) -> bool:
    qs = Mailbox.objects.filter(host__iexact=host, username=username)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def mailbox_create(*, actor: Actor, data: dict[str, Any], shared: bool = False) -> Mailbox:
    """Connect a mailbox: the actor's own, or a shared one (needs the MAILBOX add right)."""
    user = actor.user
    if shared or permissions.is_system(user):
        if not can_add_shared(user):
            raise PermissionDenied("Only administrators may connect shared mailboxes.")
        owner = None
    else:
        if not getattr(user, "is_active", False):
            raise PermissionDenied("You may not connect a mailbox.")
        owner = user
    cleaned = _clean(data, creating=True)
    password = cleaned.pop("password")
    mailbox = Mailbox(
        owner=owner,
        created_by=user if getattr(user, "pk", None) else None,
        password_encrypted=encrypt(password),
        **cleaned,
    )
    _check_leads(mailbox)
    _check_address(mailbox)
    _check_login(mailbox, password)
    if _taken(mailbox.host, mailbox.username):
        raise _unique_login_error(mailbox)
    try:
        with transaction.atomic():
            mailbox.save()
            changes = {
                k: [None, v]
                for k, v in snapshot(mailbox, SETTINGS).items()
                if v not in (None, "", [])
            }
            changes["password"] = [None, "set"]
            audit_record(
                actor=actor,
                action="create",
                entity_kind=ENTITY,
                entity_id=mailbox.pk,
                obj=mailbox,
                changes=changes,
            )
    except IntegrityError:
        raise _unique_login_error(mailbox) from None
    return mailbox


def _locked(actor: Actor, mailbox_id: int, action: str, expected_version: int | None) -> Mailbox:
    """The mailbox, locked for the change, if the actor may do it and nobody changed it
    since ``expected_version``."""
    mailbox = Mailbox.objects.select_for_update().filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound("No such mailbox.")
    _require(actor, mailbox, action)
    if expected_version is not None and mailbox.version != expected_version:
        raise VersionConflict(
            "Someone else changed this mailbox since you opened it.",
            current_version=mailbox.version,
        )
    return mailbox


def mailbox_update(
    *, actor: Actor, mailbox_id: int, data: dict[str, Any], expected_version: int | None = None
) -> Mailbox:
    """Change a mailbox's settings. A blank password keeps the stored one, except when the
    server or login changes: then the password must be given again, so the stored one is
    never sent to another server. A new server also forgets where each folder stood."""
    cleaned = _clean(data, creating=False)
    with transaction.atomic():
        mailbox = _locked(actor, mailbox_id, "change", expected_version)
        before = snapshot(mailbox, SETTINGS)
        password = cleaned.pop("password", None)
        for name, value in cleaned.items():
            setattr(mailbox, name, value)
        _check_leads(mailbox)
        moved = any(getattr(mailbox, f) != before[f] for f in SERVER_FIELDS)
        if moved and password is None:
            raise ValidationFailed(
                "Enter the password again.",
                errors={
                    "password": [
                        "Enter the password again when you change the server, port or user name."
                    ]
                },
            )
        if moved:
            _check_address(mailbox)
        if moved and password is not None:
            _check_login(mailbox, password)
        if moved and _taken(mailbox.host, mailbox.username, exclude=mailbox.pk):
            raise _unique_login_error(mailbox)
        changes = diff(before, snapshot(mailbox, SETTINGS))
        if password is not None:
            mailbox.password_encrypted = encrypt(password)
            changes["password"] = ["", "changed"]
        if not changes:
            return mailbox
        mailbox.version += 1
        fields = [
            *(f if f != "owner" else "owner_id" for f in SETTINGS),
            "password_encrypted",
            "version",
            "updated_at",
        ]
        if moved:
            mailbox.folder_states.all().delete()
        if password is not None or moved:
            mailbox.last_error = ""  # the old error was about the old login
            fields.append("last_error")
        mailbox.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="update",
            entity_kind=ENTITY,
            entity_id=mailbox.pk,
            obj=mailbox,
            changes=changes,
        )
    return mailbox


def mailbox_delete(*, actor: Actor, mailbox_id: int, expected_version: int | None = None) -> None:
    """Disconnect a mailbox; the messages already on the timeline stay."""
    with transaction.atomic():
        mailbox = _locked(actor, mailbox_id, "delete", expected_version)
        before = snapshot(mailbox, SETTINGS)
        audit_record(
            actor=actor,
            action="delete",
            entity_kind=ENTITY,
            entity_id=mailbox.pk,
            obj=mailbox,
            changes={k: [v, None] for k, v in before.items()},
        )
        mailbox.delete()


def mailbox_poll(*, mailbox_id: int, actor: Actor) -> imap.PollSummary:
    """Poll the mailbox now, in this process (the worker's task, the command line)."""
    mailbox_get(actor=actor, mailbox_id=mailbox_id, action="change")
    return imap.poll(mailbox_id, actor=actor)


def mailbox_poll_enqueue(*, actor: Actor, mailbox_id: int) -> Mailbox:
    """Queue a poll now ("Poll now"): a worker runs it, even if the mailbox is not due."""
    from rapport.ingest.mail.tasks import mailbox_poll_task

    mailbox = mailbox_get(actor=actor, mailbox_id=mailbox_id, action="change")
    enqueue_after_commit(mailbox_poll_task, mailbox.pk)
    return mailbox


def mailbox_folders(
    *,
    actor: Actor,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    mailbox_id: int | None = None,
) -> list[str]:
    """The folders on a server, for the form. A blank password uses the stored one of
    ``mailbox_id`` only for that mailbox's own server and login."""
    if not password and mailbox_id is not None:
        mailbox = mailbox_get(actor=actor, mailbox_id=mailbox_id, action="change")
        if (host.strip().lower(), int(port), username.strip()) != (
            mailbox.host.lower(),
            mailbox.port,
            mailbox.username,
        ):
            raise ValidationFailed(errors={"password": ["Enter the password for this server."]})
        try:
            password = decrypt(mailbox.password_encrypted)
        except SecretUnreadable as exc:
            raise ValidationFailed(errors={"password": [str(exc)]}) from exc
    cleaned = _clean(
        {
            "name": "x",
            "host": host,
            "port": port,
            "security": security,
            "username": username,
            "password": password,
        },
        creating=True,
    )
    return imap.list_folders(
        host=cleaned["host"],
        port=cleaned["port"],
        security=cleaned["security"],
        username=cleaned["username"],
        password=cleaned["password"],
        timeout=15,
    )
