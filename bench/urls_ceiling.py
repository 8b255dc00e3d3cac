"""The ceiling: what plain Django does for pages of the same shape, with no app logic.

- ``row/<id>``: one contact row fetched by primary key, as JSON (the API GET's shape);
- ``row/<id>.html``: one contact row rendered into a small HTML page (the detail page's);
- ``table``: the first 50 contacts by name rendered as an HTML table (the list page's).
"""

from django.http import Http404, HttpResponse, JsonResponse
from django.template import engines
from django.urls import path

from rapport.customers.models import Contact

FIELDS = (
    "id",
    "full_name",
    "sort_name",
    "job_title",
    "lifecycle",
    "language",
    "time_zone",
    "version",
)

_TABLE = engines["django"].from_string(
    """<!doctype html><html><head><title>Contacts</title></head><body>
<table><thead><tr><th>Name</th><th>Job title</th><th>Lifecycle</th><th>Language</th></tr></thead>
<tbody>{% for c in contacts %}<tr><td><a href="/contacts/{{ c.id }}/">{{ c.full_name }}</a></td>
<td>{{ c.job_title }}</td><td>{{ c.get_lifecycle_display }}</td><td>{{ c.language }}</td></tr>
{% endfor %}</tbody></table></body></html>"""
)
_ROW = engines["django"].from_string(
    """<!doctype html><html><head><title>{{ c.full_name }}</title></head><body>
<h1>{{ c.full_name }}</h1><dl><dt>Job title</dt><dd>{{ c.job_title }}</dd>
<dt>Lifecycle</dt><dd>{{ c.get_lifecycle_display }}</dd><dt>Language</dt><dd>{{ c.language }}</dd>
<dt>Time zone</dt><dd>{{ c.time_zone }}</dd></dl></body></html>"""
)


def row_json(request, pk: int):
    row = Contact.objects.filter(pk=pk).values(*FIELDS).first()
    if row is None:
        raise Http404
    return JsonResponse(row)


def row_html(request, pk: int):
    contact = Contact.objects.filter(pk=pk).first()
    if contact is None:
        raise Http404
    return HttpResponse(_ROW.render({"c": contact}, request))


def table(request):
    contacts = Contact.objects.order_by("sort_name", "id")[:50]
    return HttpResponse(_TABLE.render({"contacts": contacts}, request))


urlpatterns = [
    path("ceiling/row/<int:pk>", row_json),
    path("ceiling/row/<int:pk>.html", row_html),
    path("ceiling/table", table),
]
