"""Forms of the capture pages: a card photo, the correction of what was read, uploads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from rapport.customers import normalize
from rapport.ingest.capture import vcard
from rapport.ingest.textfields import Fields

ON_DUPLICATE_CHOICES = [
    ("skip", "Don't save it; show me the existing contact"),
    ("update", "Add what is new to the existing contact"),
    ("create", "Create a new contact anyway"),
]
PHONE_KINDS = (("phone_work", "work"), ("phone_mobile", "mobile"), ("phone_fax", "fax"))


def _limit_mb(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label="Photo of the card",
        help_text="PNG or JPEG; hold the card flat, in good light, filling the picture.",
    )


class CardForm(forms.Form):
    """What the photo said, for the user to correct before saving."""

    given_name = forms.CharField(label="Given name", max_length=100, required=False)
    family_name = forms.CharField(label="Family name", max_length=100, required=False)
    title = forms.CharField(label="Job title", max_length=150, required=False)
    company = forms.CharField(label="Company", max_length=200, required=False)
    emails = forms.CharField(
        label="E-mail addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocapitalize": "off", "spellcheck": "false"}),
        help_text="One a line.",
    )
    phone_work = forms.CharField(label="Phone (work)", max_length=40, required=False)
    phone_mobile = forms.CharField(label="Mobile", max_length=40, required=False)
    phone_fax = forms.CharField(label="Fax", max_length=40, required=False)
    website = forms.CharField(label="Web site", max_length=200, required=False)
    street = forms.CharField(label="Street", max_length=200, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    region = forms.CharField(label="State or region", max_length=100, required=False)
    country = forms.CharField(
        label="Country",
        max_length=60,
        required=False,
        help_text="A name or ISO code (GB, DE, FR, US). Needed with an address.",
    )
    event = forms.CharField(
        label="Event or campaign",
        max_length=120,
        required=False,
        help_text="Where the card was collected, e.g. 'Web Summit 2026'.",
    )
    on_duplicate = forms.ChoiceField(
        label="If this person is already a contact",
        choices=ON_DUPLICATE_CHOICES,
        initial="skip",
        widget=forms.RadioSelect,
    )
    ocr_text = forms.CharField(required=False, widget=forms.HiddenInput)

    @classmethod
    def initial_from(cls, fields: Fields, *, text: str = "") -> dict[str, Any]:
        """The form's starting values from what the photo said."""
        initial: dict[str, Any] = {
            "given_name": fields.given_name,
            "family_name": fields.family_name,
            "title": fields.title,
            "company": fields.company,
            "emails": "\n".join(fields.emails),
            "website": fields.websites[0] if fields.websites else "",
            "street": fields.address.get("street", ""),
            "city": fields.address.get("city", ""),
            "postcode": fields.address.get("postcode", ""),
            "region": fields.address.get("region", ""),
            "country": fields.address.get("country", ""),
            "on_duplicate": "skip",
            "ocr_text": text,
        }
        for phone in fields.phones:
            key = {"mobile": "phone_mobile", "fax": "phone_fax"}.get(phone.kind, "phone_work")
            if key == "phone_work" and initial.get(key):
                key = "phone_mobile"  # a second number without a label
            if not initial.get(key):
                initial[key] = normalize.format_phone(phone.e164)
        return initial

    def clean_emails(self) -> list[str]:
        found: list[str] = []
        errors: list[str] = []
        for line in self.cleaned_data.get("emails", "").replace(",", "\n").splitlines():
            if not line.strip():
                continue
            try:
                address, _ = normalize.normalize_email(line)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if address not in found:
                found.append(address)
        if errors:
            raise forms.ValidationError(errors)
        return found

    def clean_country(self) -> str:
        value = self.cleaned_data.get("country", "").strip()
        if not value:
            return ""
        try:
            return normalize.normalize_country(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_website(self) -> str:
        value = self.cleaned_data.get("website", "").strip()
        if value:
            try:
                normalize.normalize_domain(value)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("given_name", "").strip() or data.get("family_name", "").strip()):
            self.add_error("family_name", "Enter the person's name.")
        address = [data.get(k, "") for k in ("street", "city", "postcode", "region")]
        if any(v.strip() for v in address) and not data.get("country") and "country" in data:
            self.add_error("country", "Enter the country of the address.")
        region = data.get("country") or None
        for key, _ in PHONE_KINDS:
            value = data.get(key, "").strip()
            if not value:
                continue
            try:
                normalize.normalize_phone(value, region)
            except ValueError as exc:
                self.add_error(key, str(exc))
        return data

    def to_card(self) -> vcard.Card:
        """The corrected fields as a card, for the same capture as a vCard's."""
        data = self.cleaned_data
        card = vcard.Card(
            position=1,
            line=0,
            given=data["given_name"].strip(),
            family=data["family_name"].strip(),
            organisation=data["company"].strip(),
            title=data["title"].strip(),
        )
        card.emails = [vcard.Typed(e, ("work",)) for e in data["emails"]]
        card.phones = [
            vcard.Typed(data[key].strip(), (kind,))
            for key, kind in PHONE_KINDS
            if data[key].strip()
        ]
        if data["website"]:
            card.urls = [data["website"]]
        address = {
            "street": data["street"].strip(),
            "city": data["city"].strip(),
            "region": data["region"].strip(),
            "postal_code": data["postcode"].strip(),
            "country": data["country"],
            "kind": "work",
        }
        if any(v for k, v in address.items() if k not in ("kind", "country")):
            card.addresses = [address]
        return card


class VcardUploadForm(forms.Form):
    file = forms.FileField(label="vCard file (.vcf)")
    on_duplicate = forms.ChoiceField(
        label="When a card's person is already a contact",
        choices=ON_DUPLICATE_CHOICES,
        initial="skip",
        widget=forms.RadioSelect,
    )
    event = forms.CharField(
        label="Event or campaign",
        max_length=120,
        required=False,
        help_text="Recorded on each contact's timeline: 'Card collected at …'.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = _limit_mb("RAPPORT_VCARD_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size:,} bytes; a vCard file may be at most {limit:,}."
            )
        return upload


class MailUploadForm(forms.Form):
    file = forms.FileField(label="Mail file (.eml or .mbox)")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = _limit_mb("RAPPORT_MAIL_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size:,} bytes; a mail file may be at most {limit:,}."
            )
        return upload
