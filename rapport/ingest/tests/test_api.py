from django.core.files.uploadedfile import SimpleUploadedFile

CSV = b"Name,E-mail,Phone\nAda Lovelace,ada@example.com,020 7946 0018\nBad Row,not-an-email,\nBob B,bob@example.com,\n"


def test_smoke(api_client, django_capture_on_commit_callbacks):
    client = api_client("bob")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/v1/imports", {"file": SimpleUploadedFile("people.csv", CSV, content_type="text/csv"), "kind": "contacts"})
    print(r.status_code, r.json(), dict(r.headers))
    d = client.get(r["Location"]).json()
    print(d)
    print(client.get(d["links"]["preview"]).json())
    print(client.get(d["links"]["rejections"]).json())
    print(b"".join(client.get(d["links"]["rejected"]).streaming_content))
    print(client.get(d["links"]["records"]).json())
    print(client.get("/api/v1/imports").json())
    assert 0
