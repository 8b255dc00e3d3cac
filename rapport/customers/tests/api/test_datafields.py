from rapport.customers.models import DataField

JSON = "application/json"


def test_datafield_crud_and_retire(api_client, personas):
    client = api_client("alice")
    created = client.post(
        "/api/v1/datafields",
        {"entity": "contact", "label": "Shoe size", "type": "choice", "choices": ["S", "M", "L"]},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"] == "shoe_size" and body["version"] == 1
    assert created["ETag"] == '"1"'
    assert created["Location"] == f"/api/v1/datafields/{body['id']}"
    assert client.get(created["Location"]).json()["choices"] == ["S", "M", "L"]
    assert [f["key"] for f in client.get("/api/v1/datafields").json()] == ["shoe_size"]

    patched = client.patch(
        created["Location"], {"label": "Shoe"}, content_type=JSON, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200 and patched.json()["label"] == "Shoe"
    assert patched["ETag"] == '"2"'
    assert (
        client.patch(
            created["Location"], {"label": "Old"}, content_type=JSON, headers={"If-Match": '"1"'}
        ).status_code
        == 412
    )
    assert client.patch(created["Location"], {"key": "x"}, content_type=JSON).json()["errors"] == {
        "key": ["Unknown field."]
    }

    assert client.delete(created["Location"], headers={"If-Match": '"1"'}).status_code == 412
    assert DataField.objects.get().is_active
    assert client.delete(created["Location"], headers={"If-Match": '"2"'}).status_code == 204
    assert DataField.objects.get().is_active is False
    assert client.get(created["Location"]).json()["is_active"] is False


def test_datafield_delete_without_if_match_retires(api_client):
    client = api_client("alice")
    created = client.post(
        "/api/v1/datafields",
        {"entity": "account", "label": "Tier", "type": "text"},
        content_type=JSON,
    )
    assert client.delete(created["Location"]).status_code == 204
    assert DataField.objects.get().is_active is False


def test_datafield_custom_values_validated_through_contacts(api_client):
    client = api_client("alice")
    client.post(
        "/api/v1/datafields",
        {"entity": "contact", "label": "Shoe size", "type": "number"},
        content_type=JSON,
    )
    bad = client.post(
        "/api/v1/contacts",
        {"full_name": "Ada Lovelace", "custom": {"shoe_size": "big"}},
        content_type=JSON,
    )
    assert bad.status_code == 422
    assert list(bad.json()["errors"]) == ["custom.shoe_size"]
    good = client.post(
        "/api/v1/contacts",
        {"full_name": "Ada Lovelace", "custom": {"shoe_size": "42"}},
        content_type=JSON,
    )
    assert good.json()["custom"] == {"shoe_size": 42}


def test_invalid_datafield_role_is_422(api_client):
    response = api_client("alice").post(
        "/api/v1/datafields",
        {"entity": "contact", "label": "X", "type": "text", "view_roles": ["pirate"]},
        content_type=JSON,
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["view_roles[0]"]


def test_the_identifying_flag_is_created_read_and_changed_through_the_api(api_client, personas):
    client = api_client("alice")
    created = client.post(
        "/api/v1/datafields",
        {"entity": "contact", "label": "Customer number", "type": "text", "is_identifying": True},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    assert created.json()["is_identifying"] is True
    assert DataField.objects.get().is_identifying is True
    assert client.get(created["Location"]).json()["is_identifying"] is True

    patched = client.patch(
        created["Location"], {"is_identifying": False}, content_type=JSON, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["is_identifying"] is False and DataField.objects.get().is_identifying is False


def test_the_api_takes_every_field_of_the_web_forms_for_data_fields():
    from rapport.customers import forms
    from rapport.customers.api.schemas import DataFieldCreate, DataFieldOut, DataFieldPatch

    new_form = {f.name for f in forms.datafield_form().fields}
    edit_form = {f.name for f in forms.datafield_form(field_=DataField(entity="contact", type="text")).fields}
    assert new_form - set(DataFieldCreate.model_fields) == set()
    assert edit_form - set(DataFieldPatch.model_fields) == set()
    assert new_form - set(DataFieldOut.model_fields) == set()
