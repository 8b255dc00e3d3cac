"""The REST API, mounted at /api/v1/ by ``rapport.urls``: every app's router on one NinjaAPI.

It sits beside ``urls.py``, at the project's level, because it assembles the apps: the
plumbing in ``rapport.api`` (authentication, problem+json errors, paging, concurrency)
stays below them and imports none. Endpoints are thin: parse, call one service or
selector, render. A new app adds its router here, as it adds its pages to ``urls.py``.

The interactive reference at /api/v1/docs is Swagger UI from ninja's own static files. It
runs under the app's strict CSP unchanged (checked in Chromium: no violations), so the
docs page gets no exception to it.
"""

from ninja import NinjaAPI, Swagger

from rapport.api import errors
from rapport.api.auth import BearerAuth, SessionAuth
from rapport.consent import api as consent_api
from rapport.customers.api import datafields, exports, parts, records, search
from rapport.followups import api as followups_api
from rapport.identity import api as identity_api
from rapport.ingest.capture import api as capture_api
from rapport.ingest.imports import api as ingest_api
from rapport.ingest.mail import api as mailbox_api
from rapport.ingest.mail import inbound as inbound_api
from rapport.ingest.proposals import api as proposal_api
from rapport.marketing import api as marketing_api
from rapport.sales import api as sales_api
from rapport.service import api as service_api
from rapport.surveys import api as surveys_api
from rapport.timeline import api as timeline_api
from rapport.users import api as users_api

api = NinjaAPI(
    title="Rapport API",
    version="1",
    description=(
        "The customer master of Rapport. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `rapport token create --user NAME`); the browser's session works "
        "too, with an `X-CSRFToken` header on changes. Errors are `application/problem+json`. "
        "Records carry a `version` and an `ETag`; send it back in `If-Match` when you change "
        "or delete them. Lists are paged with `cursor` and `next_cursor`."
    ),
    urls_namespace="api",
    auth=[BearerAuth(), SessionAuth()],
    docs=Swagger(),
)
errors.register(api)
# Each app's endpoints live in the app (STYLE.md); the plumbing is rapport.api.
api.add_router("", records.router)
api.add_router("", parts.router)
api.add_router("", datafields.router)
api.add_router("", search.router)
api.add_router("", exports.router)
api.add_router("", users_api.router)
api.add_router("", ingest_api.router)
api.add_router("", identity_api.router)
api.add_router("", timeline_api.router)
api.add_router("", inbound_api.router)
api.add_router("", mailbox_api.router)
api.add_router("", proposal_api.router)
api.add_router("", capture_api.router)
api.add_router("", followups_api.router)
api.add_router("", sales_api.router)
api.add_router("", service_api.router)
api.add_router("", consent_api.router)
api.add_router("", marketing_api.router)
api.add_router("", surveys_api.router)
