import json
import re
import typing

from django.contrib.staticfiles import finders
from django.test import Client
from ninja.openapi.schema import REF_TEMPLATE, NinjaGenerateJsonSchema
from openapi_spec_validator import validate
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rapport.api_urls import api

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


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps the last of two equal keys; Swagger UI's parser refuses them.
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {keys}"
    return dict(pairs)


def test_published_openapi_is_valid(db):
    response = Client().get("/api/v1/openapi.json")
    schema = json.loads(response.content, object_pairs_hook=_refuse_duplicate_keys)
    validate(schema)  # raises on anything OpenAPI 3.1 does not allow


def _models_in(annotation: object, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                _models_in(field.annotation, found)
        return
    for arg in typing.get_args(annotation):  # list[X], X | None, dict[str, X], Annotated
        _models_in(arg, found)


def _component_name(model: type[BaseModel], mode: typing.Literal["validation", "serialization"]):
    # The name ninja files the model under: pydantic's, one model at a time, as ninja calls it.
    refs, _ = models_json_schema(
        [(model, mode)], ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema
    )
    return refs[(model, mode)]["$ref"].rsplit("/", 1)[1]


def test_every_schema_of_the_api_has_its_own_component_name():
    """ninja merges every operation's definitions into one components map by name, so two
    classes of one name would silently document one endpoint with the other's shape."""
    found: set[type[BaseModel]] = set()
    operations = 0
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                operations += 1
                # ninja's own wrappers (BodyParams, NinjaResponseSchema) are inlined, not
                # components; what their fields hold is.
                wrappers = [*operation.models, *operation.response_models.values()]
                for wrapper in wrappers:
                    if isinstance(wrapper, type) and issubclass(wrapper, BaseModel):
                        for field in wrapper.model_fields.values():
                            _models_in(field.annotation, found)
    assert operations > 100 and len(found) > 50  # the walk reached the whole API
    owners: dict[str, set[str]] = {}
    for model in found:
        for mode in ("validation", "serialization"):
            name = _component_name(model, mode)
            owners.setdefault(name, set()).add(f"{model.__module__}.{model.__qualname__}")
    clashes = {name: classes for name, classes in owners.items() if len(classes) > 1}
    assert not clashes


def test_malformed_json_answers_a_documented_400_problem(api_client):
    response = api_client("alice").post(
        "/api/v1/accounts", b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    schema = Client().get("/api/v1/openapi.json").json()
    documented = schema["paths"]["/api/v1/accounts"]["post"]["responses"]["400"]
    assert "application/json" in documented["content"]
