"""Staff users: API tokens, login throttling, deactivation."""

from __future__ import annotations

import datetime as dt
import functools
import secrets

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.users.models import ApiToken, LoginFailure, User

TOKEN_PREFIX = "rap_"  # noqa: S105 - a marker, not a secret


def token_create(*, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal token for ``user``; returns the row and the secret, shown only once.

    Users create their own tokens; an admin may create one for anyone (the CLI does).
    """
    from rapport.users.permissions import role_of

    if actor.user is not None and actor.user.pk != user.pk and role_of(actor.user) != "admin":
        raise PermissionDenied("You may only create tokens for yourself.")
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ValidationFailed(errors={"name": ["Give the token a name, e.g. 'phone system'."]})
    if not user.is_active:
        raise ValidationFailed(errors={"user": [f"{user.username} is not active."]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=secret[:12], digest=ApiToken.digest_of(secret)
        )
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="user", entity_id=user.pk, obj=token, object_kind="api_token", changes={"name": [None, name]})
    return token, secret


def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    from rapport.users.permissions import role_of

    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or (actor.user is not None and token.user_id != actor.user.pk and role_of(actor.user) != "admin"):
        raise NotFound("No such token.")
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="user", entity_id=token.user_id, obj=token, object_kind="api_token", changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return token


@functools.cache
def _token_sql() -> str:
    """One query for a token and its user, written once: the API pays it on every call,
    and building it through the ORM's compiler cost as much as the rest of a GET."""
    return (
        "SELECT u.*, t.id AS token_id, t.name AS token_name, t.last_used_at AS token_last_used "  # noqa: S608
        f"FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.digest = %s AND t.revoked_at IS NULL"
    )


def token_authenticate(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    # raw() still converts the model's columns as the ORM would (time zones and all).
    found = list(User.objects.raw(_token_sql(), [ApiToken.digest_of(secret)]))
    if not found or not found[0].is_active:
        return None
    user = found[0]
    last_used = user.token_last_used  # type: ignore[attr-defined]
    if isinstance(last_used, str):  # SQLite hands extra columns back as text
        last_used = parse_datetime(last_used)
    if last_used is not None and timezone.is_naive(last_used):
        last_used = timezone.make_aware(last_used, dt.UTC)
    now = timezone.now()
    # Write last use at most once a minute: a busy integration must not write on every call.
    if last_used is None or now - last_used > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=user.token_id).update(last_used_at=now)  # type: ignore[attr-defined]
    # For the audit trail: which token made a change.
    user.api_token_id = user.token_id  # type: ignore[attr-defined]
    user.api_token_name = user.token_name  # type: ignore[attr-defined]
    return user


def login_is_throttled(*, username: str, ip_address: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_MAX_FAILURES
    by_user = recent.filter(username=username.lower()).count()
    by_ip = recent.filter(ip_address=ip_address).count() if ip_address else 0
    # An address may try a few usernames (a shared office), but not endlessly.
    return by_user >= limit or by_ip >= limit * 4


def login_failed(*, username: str, ip_address: str | None) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip_address=ip_address)
    cutoff = timezone.now() - dt.timedelta(days=1)
    LoginFailure.objects.filter(at__lt=cutoff).delete()


def login_succeeded(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()


def user_deactivate(*, actor: Actor, user: User) -> None:
    """Deactivate a user: their sessions end now and their tokens stop working."""
    from rapport.users.permissions import role_of

    if actor.user is not None and role_of(actor.user) != "admin":
        raise PermissionDenied("Only admins deactivate users.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        user_sessions_end(user=user)
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="user", entity_id=user.pk, obj=user, object_kind="user", changes={"is_active": [True, False]})


def user_sessions_end(*, user: User) -> int:
    """Delete every stored session of ``user``. Sessions are signed blobs in the database,
    so each one is decoded; fine for staff-sized tables."""
    ended = 0
    for session in Session.objects.filter(Q(expire_date__gte=timezone.now())).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended
