"""Global search across contacts and accounts."""

from django.http import HttpRequest
from ninja import Router

from rapport.api.common import problems, user_of
from rapport.customers import selectors
from rapport.customers.api.schemas import SearchOut

router = Router()


@router.get("/search", response={200: SearchOut, **problems()}, url_name="search", tags=["search"])
def search(request: HttpRequest, q: str, limit: int = 20):
    """Contacts and accounts by name (typos tolerated), e-mail, phone number or web domain."""
    results = selectors.search(actor=user_of(request), q=q, limit=max(1, min(limit, 100)))
    return {
        "items": [
            {
                "kind": h.kind,
                "id": h.obj.pk,
                "name": h.obj.full_name if h.kind == "contact" else h.obj.name,
                "score": h.score,
                "matched_on": h.matched_on,
            }
            for h in results.all
        ]
    }
