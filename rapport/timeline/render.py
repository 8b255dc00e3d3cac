"""Notes' simple formatting rendered safely: Markdown to HTML, then an allow-list of tags
(nh3). Whatever was typed, no script, style, event handler or foreign URL scheme survives."""

from __future__ import annotations

import html

import markdown  # type: ignore[import-untyped]
import nh3
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from rapport.timeline.models import Entry

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "a", "h3", "h4"}
ATTRIBUTES = {"a": {"href", "title"}}


def body_html(entry: Entry) -> SafeString:
    if entry.body_format == "markdown":
        html = markdown.markdown(entry.body, extensions=["sane_lists"], output_format="html")
        clean = nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
        return mark_safe(clean)  # noqa: S308 - cleaned by nh3 through the allow-list above
    return mark_safe(linebreaks(escape(entry.body)))  # noqa: S308 - escaped first


def plain_text(line: str) -> str:
    """The text a line of Markdown shows, without its markup: a note's first line as its
    title ('**Renewal** call with _Anna_' -> 'Renewal call with Anna')."""
    shown = markdown.markdown(line, output_format="html")
    text = html.unescape(nh3.clean(shown, tags=set()))
    return " ".join(text.split())
