import re

from django.contrib.staticfiles import finders
from django.test import Client

EXPECTED_PATHS = [
    "/api/v1/contacts",
    "/api/v1/contacts/{contact_id}",
    "/api/v1/contacts/{contact_id}/history",
    "/api/v1/contacts/{parent_id}/emails",
    "/api/v1/contacts/{parent_id}/phones/{part_id}",
    "/api/v1/contacts/{parent_id}/addresses",
    "/api/v1/contacts/{parent_id}/memberships",
    "/api/v1/contacts/{parent_id}/external-ids",
    "/api/v1/accounts",
    "/api/v1/accounts/{account_id}",
    "/api/v1/accounts/{account_id}/people",
    "/api/v1/accounts/{account_id}/history",
    "/api/v1/accounts/{parent_id}/domains",
    "/api/v1/accounts/{parent_id}/addresses/{part_id}",
    "/api/v1/accounts/{parent_id}/external-ids",
    "/api/v1/datafields",
    "/api/v1/datafields/{field_id}",
    "/api/v1/search",
    "/api/v1/me",
]


def test_openapi_schema_lists_the_paths_and_bearer_scheme(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in EXPECTED_PATHS:
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    create = schema["paths"]["/api/v1/contacts"]["post"]
    assert {"BearerAuth": []} in create["security"]
    assert "422" in create["responses"] and "201" in create["responses"]
    body = schema["components"]["schemas"]["ContactCreate"]
    assert body["additionalProperties"] is False
    assert "id" not in body["properties"] and "version" not in body["properties"]


def test_docs_page_works_from_local_static_files(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "<script>" not in html  # no inline script: script-src 'self' holds
    # Swagger UI runs under the app's strict policy; the page gets no exception.
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "cdn" not in html.lower()


def test_static_swagger_assets_are_served(db):
    response = Client().get("/static/ninja/swagger-ui-bundle.js")
    assert response.status_code == 200


def test_csp_is_strict_on_api_responses(api_client):
    response = api_client("alice").get("/api/v1/me")
    assert "style-src 'self';" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
