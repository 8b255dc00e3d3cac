"""Validation of data-dictionary values: one function for the UI, the API and imports."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from rapport.core import cache
from rapport.customers import normalize
from rapport.customers.models import DataField

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def active_fields(entity: str) -> list[DataField]:
    """The entity's active data-dictionary fields, in order (cached per process)."""
    return cache.cached(
        f"datafields:{entity}",
        lambda: list(DataField.objects.filter(entity=entity, is_active=True).order_by("position", "id")),
    )


def clean_value(df: DataField, value: Any, *, date_order: str = "", excel: bool = False) -> Any:
    """The stored form of one value, or ValueError saying why it is not acceptable.

    Dates are read in the common forms (``normalize.parse_date``); a numeric date that
    could be day or month first needs ``date_order`` ("dmy", "mdy", an import's region
    gives it) and is refused as ambiguous without; ``excel`` accepts a spreadsheet's
    serial day number."""
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return None
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            normalize.check_text(text)
    t = DataField.Type
    if df.type == t.TEXT:
        text = str(value).strip()
        if len(text) > 2000:
            raise ValueError("Keep it under 2,000 characters.")
        return text
    if df.type == t.NUMBER:
        if isinstance(value, bool):
            raise ValueError("Enter a number.")
        try:
            number = decimal.Decimal(str(value).strip().replace(",", ""))
        except decimal.InvalidOperation:
            raise ValueError(f"'{value}' is not a number.") from None
        if not number.is_finite():
            raise ValueError(f"'{value}' is not a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if df.type == t.DATE:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        day = normalize.parse_date(str(value), order=date_order, excel=excel)
        return day.isoformat() if day is not None else None
    if df.type == t.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"'{value}' is not yes or no.")
    if df.type == t.CHOICE:
        text = str(value).strip()
        if text not in df.choices:
            raise ValueError(f"'{text}' is not one of: {', '.join(df.choices)}.")
        return text
    if df.type == t.MULTI_CHOICE:
        items = value if isinstance(value, list) else [v for v in str(value).split(";")]
        cleaned = [str(v).strip() for v in items if str(v).strip()]
        wrong = [v for v in cleaned if v not in df.choices]
        if wrong:
            raise ValueError(f"{', '.join(repr(w) for w in wrong)} not among: {', '.join(df.choices)}.")
        return sorted(set(cleaned), key=df.choices.index)
    if df.type == t.EMAIL:
        return normalize.normalize_email(str(value))[0]
    if df.type == t.PHONE:
        return normalize.normalize_phone(str(value))[0]
    if df.type == t.URL:
        text = str(value).strip()
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise ValueError(f"'{text}' is not a web address (http:// or https://).") from None
        return text
    raise ValueError(f"Unknown field type {df.type}.")


def clean_custom(
    entity: str, values: dict[str, Any], *, existing: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Merge ``values`` into ``existing`` custom data; return (result, errors by field).

    Keys not in the dictionary are refused; required fields must end up with a value.
    Values of fields that were retired are kept untouched.
    """
    fields = {df.key: df for df in active_fields(entity)}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        df = fields.get(key)
        if df is None:
            errors[f"custom.{key}"] = ["No such field in the data dictionary."]
            continue
        try:
            cleaned = clean_value(df, value)
        except ValueError as exc:
            errors[f"custom.{key}"] = [str(exc)]
            continue
        if cleaned is None:
            result.pop(key, None)
        else:
            result[key] = cleaned
    for key, df in fields.items():
        if df.required and result.get(key) in (None, "", []) and f"custom.{key}" not in errors:
            errors[f"custom.{key}"] = [f"{df.label} is required."]
    return result, errors
