"""Small display helpers of the sales pages."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """A time in stage as people say it: "3 days", "5 h", "12 min"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    if days:
        return f"{days} day{'s' if days != 1 else ''}"
    hours, rest = divmod(rest, 3600)
    if hours:
        return f"{hours} h"
    return f"{max(rest // 60, 0)} min"
