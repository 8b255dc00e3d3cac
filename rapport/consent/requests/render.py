"""The subject access export as files: JSON, and a readable, printable HTML page.

The HTML is built from the same package as the JSON, section by section (one per app and
kind of data), every value escaped; lists of records become tables, records become
definition lists, so a person can read what is held about them without a tool.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

SECTION_TITLES = {
    "customers": "Your record",
    "timeline": "Your history with us (messages, calls, notes)",
    "consent": "Your consent, messages sent to you, your requests",
    "sales": "Sales",
    "service": "Service cases",
    "followups": "Tasks about you",
    "ingest": "Where your data came from (imports, mail)",
    "identity": "Duplicate records merged into yours",
    "audit": "Changes to your record",
}


def to_json(package: dict[str, Any]) -> bytes:
    return json.dumps(package, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def _label(key: Any) -> str:
    return str(key).replace("_", " ").capitalize()


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return '<span class="muted">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _html(value: Any) -> str:
    # Plain joins of escaped strings: format_html per cell cost seconds for 10,000 entries.
    if isinstance(value, dict):
        if not value:
            return _scalar(None)
        items = "".join(
            f"<dt>{escape(_label(k))}</dt><dd>{_html(v)}</dd>" for k, v in value.items()
        )
        return f'<dl class="export-record">{items}</dl>'
    if isinstance(value, list | tuple):
        if not value:
            return '<span class="muted">none</span>'
        if all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f'<th scope="col">{escape(_label(c))}</th>' for c in columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_html(v.get(c))}</td>" for c in columns) + "</tr>"
                for v in value
            )
            return (
                '<div class="table-wrap"><table class="table export-table">'
                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            )
        return "<ul>" + "".join(f"<li>{_html(v)}</li>" for v in value) + "</ul>"
    return _scalar(value)


def value_html(value: Any) -> SafeString:
    """Nested data as HTML, every value escaped: a list of records is a table, a record a
    definition list."""
    return mark_safe(_html(value))  # noqa: S308 - every piece escaped above


def to_html(package: dict[str, Any]) -> str:
    sections = [
        {"kind": kind, "title": SECTION_TITLES.get(kind, _label(kind)), "body": value_html(data)}
        for kind, data in package["data"].items()
    ]
    return render_to_string(
        "consent/privacy_export.html",
        {
            "package": package,
            "sections": sections,
            "generated": str(package["generated_at"])[:19].replace("T", " "),
            "css": mark_safe(EXPORT_CSS),  # noqa: S308 - our constant
        },
    )


# Inlined so the downloaded file reads well on its own, offline and on paper.
EXPORT_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1d2733; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; border-bottom: 1px solid #d6dde6; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 13px; } th, td { border: 1px solid #d6dde6; padding: .25rem .4rem; text-align: left; vertical-align: top; }
dl.export-record { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .15rem .8rem; margin: .2rem 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; } .muted { color: #6b7785; }
.table-wrap { overflow-x: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""
