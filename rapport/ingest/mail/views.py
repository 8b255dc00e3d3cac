"""Web pages: the IMAP mailboxes Rapport polls for mail. Thin views over
``mail.mailboxes``: everyone connects their own mailbox; shared ones (and other
people's) need the mailbox permission (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.errors import ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.ingest.mail import imap
from rapport.ingest.mail import mailboxes as services
from rapport.ingest.mail.forms import MailboxForm, form_for
from rapport.ingest.models import Mailbox

CONFLICT = (
    "Someone changed this mailbox since you opened the page. Nothing was saved. "
    "Your input is kept below: check it, then save again."
)


@require_http_methods(["GET"])
@web_view
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = list(services.mailbox_list(actor=actor_of(request)))
    return render_page(request, "ingest/mailbox_list.html", {"mailboxes": mailboxes})


def _add_errors(form: MailboxForm, exc: ValidationFailed) -> None:
    for name, reasons in exc.errors.items():
        for reason in reasons:
            form.add_error(name if name in form.fields else None, reason)
    if not exc.errors:
        form.add_error(None, exc.message)


def _render_form(
    request: HttpRequest,
    form: MailboxForm,
    *,
    mailbox: Mailbox | None,
    folders: list[str],
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "mailbox": mailbox,
        "chosen": folders,
        "notice": notice,
    }
    return render_page(request, "ingest/mailbox_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@web_view
def mailbox_create(request: HttpRequest) -> HttpResponse:
    can_share = services.can_add_shared(user_of(request))
    if request.method == "POST":
        form = MailboxForm(request.POST, can_share=can_share)
        if form.is_valid():
            try:
                mailbox = services.mailbox_create(
                    actor=actor_of(request),
                    data=form.service_data(),
                    shared=bool(form.cleaned_data.get("shared")),
                )
            except ValidationFailed as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, f"Mailbox “{mailbox.name}” connected. Its first poll comes soon."
                )
                return redirect("ingest:mailbox-list")
        return _render_form(request, form, mailbox=None, folders=form.folders(), status=422)
    form = MailboxForm(can_share=can_share)
    return _render_form(request, form, mailbox=None, folders=["INBOX"])


@require_http_methods(["GET", "POST"])
@web_view
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_get(actor=actor_of(request), mailbox_id=pk, action="change")
    if request.method == "POST":
        form = MailboxForm(request.POST, editing=True)
        status, notice = 422, ""
        if form.is_valid():
            try:
                services.mailbox_update(
                    actor=actor_of(request),
                    mailbox_id=mailbox.pk,
                    data=form.service_data(),
                    expected_version=form.cleaned_data.get("version"),
                )
            except VersionConflict:
                status, notice = 409, CONFLICT
                mailbox.refresh_from_db()
                data = request.POST.copy()
                data["version"] = str(mailbox.version)  # saving again applies the input
                form = MailboxForm(data, editing=True)
                form.is_valid()
            except ValidationFailed as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"Mailbox “{mailbox.name}” saved.")
                return redirect("ingest:mailbox-list")
        return _render_form(
            request, form, mailbox=mailbox, folders=form.folders(), status=status, notice=notice
        )
    form = MailboxForm(initial=form_for(mailbox), editing=True)
    return _render_form(request, form, mailbox=mailbox, folders=list(mailbox.folders or []))


@require_http_methods(["GET", "POST"])
@web_view
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_get(actor=actor_of(request), mailbox_id=pk, action="delete")
    if request.method == "POST":
        services.mailbox_delete(actor=actor_of(request), mailbox_id=mailbox.pk)
        messages.success(
            request, f"Mailbox “{mailbox.name}” disconnected. The mail already fetched stays."
        )
        return redirect("ingest:mailbox-list")
    return render_page(request, "ingest/mailbox_delete.html", {"mailbox": mailbox})


@require_POST
@web_view
def mailbox_poll(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_poll_enqueue(actor=actor_of(request), mailbox_id=pk)
    messages.success(
        request, f"A poll of “{mailbox.name}” is queued; new mail appears in a moment."
    )
    return redirect("ingest:mailbox-list")


@require_POST
@web_view
def mailbox_folders(request: HttpRequest) -> HttpResponse:
    """htmx: the server's folders as ticks, from the connection details typed in so far."""
    post = request.POST
    chosen = [f for f in post.getlist("folders") if f.strip()]
    pk = post.get("mailbox") or ""
    error = ""
    names: list[str] = []
    try:
        port = int(post.get("port") or (993 if post.get("security", "ssl") == "ssl" else 143))
        names = services.mailbox_folders(
            actor=actor_of(request),
            host=post.get("host", ""),
            port=port,
            security=post.get("security", "ssl"),
            username=post.get("username", ""),
            password=post.get("password", ""),
            mailbox_id=int(pk) if pk.isdigit() else None,
        )
    except ValueError:
        error = "Give a port number."
    except ValidationFailed as exc:
        error = " ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) or exc.message
    except imap.ImapProblem as exc:
        error = exc.reason
    folders = list(dict.fromkeys([*names, *chosen]))
    context = {
        "folders": folders,
        "chosen": chosen or ["INBOX"],
        "error": error,
        "loaded": bool(names),
    }
    return render_page(request, "ingest/mailbox_folders.html", context, status=200)


urlpatterns: list[URLPattern] = [
    path("mailboxes/", mailbox_list, name="mailbox-list"),
    path("mailboxes/new/", mailbox_create, name="mailbox-create"),
    path("mailboxes/folders/", mailbox_folders, name="mailbox-folders"),
    path("mailboxes/<int:pk>/edit/", mailbox_edit, name="mailbox-edit"),
    path("mailboxes/<int:pk>/delete/", mailbox_delete, name="mailbox-delete"),
    path("mailboxes/<int:pk>/poll/", mailbox_poll, name="mailbox-poll"),
]
