"""Web pages of captures: a photo of a paper business card, a vCard file, a mail file.

A card photo is read by OCR (``cardocr``) and shown as a form for the user to correct; saving
builds a ``vcard.Card`` and runs ``vcard.capture``, the same path as a vCard file, so the
duplicate check, the account found by company or e-mail domain and the timeline entry are the
same whichever way a card comes in. Thin views: ``web_view`` turns PermissionDenied into a
403 page; a file that cannot be read is shown again with the reason next to the input (422).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_http_methods

from rapport.core.actor import Actor
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.models import Account, Contact
from rapport.ingest.capture import cardocr, services, vcard
from rapport.ingest.capture.forms import CardForm, MailUploadForm, PhotoForm, VcardUploadForm
from rapport.ingest.mail import services as mail
from rapport.ingest.mail import uploads as mail_uploads
from rapport.ingest.models import MailUpload

SOURCE_PHOTO = "card-photo"
SOURCE_VCARD_UPLOAD = "vcard-upload"


# --- shared with the API -------------------------------------------------------------------


def card_image_max_bytes() -> int:
    return int(getattr(settings, "RAPPORT_CARD_IMAGE_MAX_BYTES", cardocr.DEFAULT_MAX_BYTES))


def mail_upload_max_bytes() -> int:
    return int(getattr(settings, "RAPPORT_MAIL_UPLOAD_MAX_BYTES", 100 * 1024 * 1024))


def read_photo(upload: Any, *, actor: Actor) -> cardocr.CardReading:
    """OCR of an uploaded photo; CardImageError (naming the file) if it cannot be read."""
    if upload.size > card_image_max_bytes():
        raise cardocr.CardImageError(
            upload.name,
            f"the file is {upload.size / 1048576:.1f} MB; photos of cards may be at most "
            f"{card_image_max_bytes() / 1048576:.0f} MB.",
        )
    return services.card_read(actor=actor, data=upload.read(), filename=upload.name)


# --- pages ---------------------------------------------------------------------------------


def _suggestion(request: HttpRequest, card: vcard.Card) -> dict[str, Any]:
    account, how = vcard.account_suggestion(card, user=user_of(request))
    if account is not None:
        return {"account": account, "how": how}
    return {"proposed": card.organisation}


def _card_page(
    request: HttpRequest,
    form: CardForm,
    *,
    status: int = 200,
    duplicate: Contact | None = None,
    percent: int | None = None,
    photo_error: str = "",
) -> HttpResponse:
    text = form["ocr_text"].value() or ""
    suggestion: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        suggestion = _suggestion(request, form.to_card())
    elif not form.is_bound and form.initial.get("company") is not None:
        bound = CardForm({**form.initial, "emails": form.initial.get("emails", "")})
        if bound.is_valid():
            suggestion = _suggestion(request, bound.to_card())
    context = {
        "form": form,
        "ocr_text": text,
        "suggestion": suggestion,
        "duplicate": duplicate,
        "percent": percent,
        "photo_form": PhotoForm(),
        "photo_error": photo_error,
    }
    return render_page(request, "ingest/capture_card.html", context, status=status)


@require_http_methods(["GET", "POST"])
@web_view
def capture_card(request: HttpRequest) -> HttpResponse:
    """Photo → the fields read from it, to correct → a contact (or the duplicate it is)."""
    services.require_card_capture(user_of(request))
    if request.method == "GET":
        if request.GET.get("manual"):
            return _card_page(request, CardForm(initial={"on_duplicate": "skip"}))
        return render_page(
            request, "ingest/capture_photo.html", {"photo_form": PhotoForm(), "error": ""}
        )
    if "photo" in request.FILES:
        photo = PhotoForm(request.POST, request.FILES)
        if not photo.is_valid():
            return render_page(
                request, "ingest/capture_photo.html", {"photo_form": photo, "error": ""}, status=422
            )
        try:
            reading = read_photo(photo.cleaned_data["photo"], actor=actor_of(request))
        except cardocr.CardImageError as exc:
            return render_page(
                request,
                "ingest/capture_photo.html",
                {"photo_form": PhotoForm(), "error": str(exc)},
                status=422,
            )
        initial = CardForm.initial_from(reading.fields, text=reading.text.strip())
        return _card_page(request, CardForm(initial=initial))
    if "save" not in request.POST:
        return render_page(
            request,
            "ingest/capture_photo.html",
            {"photo_form": PhotoForm(), "error": "Choose a photo of the card."},
            status=422,
        )
    form = CardForm(request.POST)
    if not form.is_valid():
        return _card_page(request, form, status=422)
    card = form.to_card()
    result = vcard.capture(
        card,
        actor=actor_of(request),
        event=form.cleaned_data["event"].strip(),
        on_duplicate=form.cleaned_data["on_duplicate"],
        source=SOURCE_PHOTO,
    )
    if result.outcome == "skipped":
        duplicate = Contact.objects.filter(pk=result.duplicate_of or 0).first()
        data = request.POST.copy()
        data["on_duplicate"] = "update"
        return _card_page(
            request, CardForm(data), duplicate=duplicate, percent=result.duplicate_percent
        )
    context = {
        "result": result,
        "contact": Contact.objects.filter(pk=result.contact_id or 0).first(),
        "account": Account.objects.filter(pk=result.account_id or 0).first(),
        "event": form.cleaned_data["event"].strip(),
    }
    return render_page(request, "ingest/capture_card_result.html", context, status=201)


@require_http_methods(["GET", "POST"])
@web_view
def capture_vcard(request: HttpRequest) -> HttpResponse:
    """A .vcf file, one card or many, each captured like a photographed card."""
    services.require_card_capture(user_of(request))
    if request.method == "GET":
        return render_page(request, "ingest/capture_vcard.html", {"form": VcardUploadForm()})
    form = VcardUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_page(request, "ingest/capture_vcard.html", {"form": form}, status=422)
    upload = form.cleaned_data["file"]
    summary = vcard.ingest_bytes(
        upload.read(),
        actor=actor_of(request),
        event=form.cleaned_data["event"].strip(),
        on_duplicate=form.cleaned_data["on_duplicate"],
        source=SOURCE_VCARD_UPLOAD,
    )
    context = {
        "form": VcardUploadForm(initial={"on_duplicate": form.cleaned_data["on_duplicate"]}),
        "summary": summary,
        "file_name": upload.name,
        "counts": {
            "created": summary.count("created"),
            "updated": summary.count("updated"),
            "skipped": summary.count("skipped"),
            "problems": len(summary.problems),
        },
    }
    return render_page(request, "ingest/capture_vcard.html", context)


@require_http_methods(["GET", "POST"])
@web_view
def capture_mail(request: HttpRequest) -> HttpResponse:
    """An .eml or mbox file onto the timelines of the contacts in its messages."""
    mail.require_mail_file(user_of(request))
    max_mb = mail_upload_max_bytes() // (1024 * 1024)
    if request.method == "GET":
        context: dict[str, Any] = {"form": MailUploadForm(), "max_mb": max_mb}
        return render_page(request, "ingest/capture_mail.html", context)
    form = MailUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        context = {"form": form, "max_mb": max_mb}
        return render_page(request, "ingest/capture_mail.html", context, status=422)
    upload = form.cleaned_data["file"]
    result = mail_uploads.mail_file_receive(actor=actor_of(request), upload=upload)
    if isinstance(result, MailUpload):
        return redirect("ingest:mail-upload-detail", result.pk)
    context = {
        "form": MailUploadForm(),
        "max_mb": max_mb,
        "file_name": upload.name,
        **summary_context(result),
    }
    return render_page(request, "ingest/capture_mail.html", context)


def summary_context(summary: mail.Summary) -> dict[str, Any]:
    """What ``_mail_summary.html`` shows of a file read in the request."""
    return {
        "summary": summary,
        "messages": summary.messages,
        "read": summary.read,
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "unmatched": len(summary.unmatched),
        "errors": len(summary.errors),
    }


@require_http_methods(["GET"])
@web_view
def mail_upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a large mail file read by the worker stands; its summary once done."""
    upload = mail_uploads.mail_upload_get(user=user_of(request), pk=pk)
    context = {
        "upload": upload,
        "file_name": upload.file_name,
        "messages": upload.outcomes,
        "more": upload.read > len(upload.outcomes),
        "read": upload.read,
        "stored": upload.stored,
        "duplicates": upload.duplicates,
        "unmatched": upload.unmatched,
        "errors": upload.errors,
    }
    return render_page(
        request,
        "ingest/mail_upload_detail.html",
        context,
        fragment="ingest/_mail_upload_status.html",
    )


urlpatterns = [
    path("capture/card/", capture_card, name="capture-card"),
    path("capture/vcard/", capture_vcard, name="capture-vcard"),
    path("capture/mail/", capture_mail, name="capture-mail"),
    path("capture/mail/uploads/<int:pk>/", mail_upload_detail, name="mail-upload-detail"),
]
