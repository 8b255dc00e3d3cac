import pytest

from rapport.customers.tests.factories import make_account, make_contact


def _walk(client, url):
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(url, {"size": 7, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", ["name", "-name", "newest", "oldest", "updated"])
def test_cursor_pagination_walks_every_contact_exactly_once(api_client, personas, sort):
    ids = {make_contact(owner=personas["bob"]).pk for _ in range(23)}
    seen, pages = _walk(api_client("alice"), f"/api/v1/contacts?sort={sort}")
    assert sorted(seen) == sorted(ids)
    assert pages == 4


def test_cursor_pagination_walks_every_account_exactly_once(api_client, personas):
    ids = {make_account(owner=personas["bob"]).pk for _ in range(15)}
    seen, _ = _walk(api_client("alice"), "/api/v1/accounts")
    assert sorted(seen) == sorted(ids)


def test_contact_list_filters(api_client, personas):
    account = make_account(owner=personas["bob"])
    at_account = make_contact(
        owner=personas["bob"],
        account=account,
        full_name="Grace Hopper",
        lifecycle="customer",
        tags=["vip"],
    )
    make_contact(owner=personas["alice"], full_name="Alan Turing")
    client = api_client("alice")

    def ids(**params):
        return [c["id"] for c in client.get("/api/v1/contacts", params).json()["items"]]

    assert ids(account=account.pk) == [at_account.pk]
    assert ids(lifecycle="customer") == [at_account.pk]
    assert ids(tag="vip") == [at_account.pk]
    assert ids(owner=personas["bob"].pk) == [at_account.pk]
    assert ids(q="hoper") == [at_account.pk]
    item = client.get("/api/v1/contacts", {"account": account.pk}).json()["items"][0]
    assert item["primary_account"] == {"id": account.pk, "name": account.name}
    assert item["primary_email"].endswith("@example.com")
    assert item["tags"] == ["vip"]


def test_account_list_filters(api_client, personas):
    acme = make_account(
        owner=personas["bob"], name="Acme", lifecycle="customer", domains=["acme.example"]
    )
    make_account(owner=personas["alice"], name="Globex")
    client = api_client("alice")
    assert [
        a["id"] for a in client.get("/api/v1/accounts", {"lifecycle": "customer"}).json()["items"]
    ] == [acme.pk]
    assert [a["id"] for a in client.get("/api/v1/accounts", {"q": "acme"}).json()["items"]] == [
        acme.pk
    ]
    assert client.get("/api/v1/accounts", {"q": "acme"}).json()["items"][0]["domains"] == [
        "acme.example"
    ]


def _fill(n, personas, start=0):
    for i in range(start, start + n):
        account = make_account(owner=personas["bob"], domains=[f"d{i}.example"], tags=["a", "b"])
        make_contact(
            owner=personas["bob"], account=account, phones=["+44 20 7946 0018"], tags=["x"]
        )


@pytest.mark.parametrize("url", ["/api/v1/contacts?size=100", "/api/v1/accounts?size=100"])
@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_list_query_count_does_not_grow_with_records(
    api_client, personas, django_assert_max_num_queries, url, persona
):
    client = api_client(persona)
    _fill(5, personas)
    client.get(url)  # warm per-process caches, as a real server would have
    with django_assert_max_num_queries(12) as few:
        assert len(client.get(url).json()["items"]) == 5
    _fill(55, personas, start=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).json()["items"]) == 60


def test_carl_from_south_cannot_see_bobs_north_contact(api_client, personas):
    bobs = make_contact(
        owner=personas["bob"], full_name="Nora Northern", emails=["nora@north.example"]
    )
    account = make_account(owner=personas["bob"], name="Northwind")
    carl = api_client("carl")
    json = "application/json"
    for method, url, data in [
        ("get", f"/api/v1/contacts/{bobs.pk}", None),
        ("patch", f"/api/v1/contacts/{bobs.pk}", {"job_title": "X"}),
        ("delete", f"/api/v1/contacts/{bobs.pk}", None),
        ("get", f"/api/v1/contacts/{bobs.pk}/emails", None),
        ("post", f"/api/v1/contacts/{bobs.pk}/emails", {"email": "x@example.com"}),
        ("get", f"/api/v1/contacts/{bobs.pk}/history", None),
        ("get", f"/api/v1/accounts/{account.pk}", None),
        ("get", f"/api/v1/accounts/{account.pk}/people", None),
    ]:
        kwargs = {"data": data, "content_type": json} if data is not None else {}
        response = getattr(carl, method)(url, **kwargs)
        assert response.status_code == 404, (method, url, response.status_code)
    assert carl.get("/api/v1/contacts").json()["items"] == []
    assert carl.get("/api/v1/accounts").json()["items"] == []
    for q in ("Nora Northern", "nora@north.example", "Northwind", "north.example"):
        assert carl.get("/api/v1/search", {"q": q}).json()["items"] == []
    # ...while bob's teammate sees it.
    brenda = api_client("brenda")
    assert brenda.get(f"/api/v1/contacts/{bobs.pk}").status_code == 200
    assert brenda.get("/api/v1/search", {"q": "Nora Northern"}).json()["items"][0]["id"] == bobs.pk


def test_carl_cannot_attach_a_contact_to_an_account_he_cannot_see(api_client, personas):
    mine = make_contact(owner=personas["carl"])
    northern = make_account(owner=personas["bob"])
    response = api_client("carl").post(
        f"/api/v1/contacts/{mine.pk}/memberships",
        {"account": northern.pk},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["account"]


def test_search_finds_contacts_and_accounts(api_client, personas):
    contact = make_contact(
        owner=personas["bob"],
        full_name="Grace Hopper",
        emails=["grace@navy.example"],
        phones=["+44 20 7946 0018"],
    )
    account = make_account(
        owner=personas["bob"], name="Hopper Industries", domains=["hopper.example"]
    )
    client = api_client("alice")
    hits = client.get("/api/v1/search", {"q": "hopper"}).json()["items"]
    assert {(h["kind"], h["id"]) for h in hits} == {
        ("contact", contact.pk),
        ("account", account.pk),
    }
    assert set(hits[0]) == {"kind", "id", "name", "score", "matched_on"}
    by_email = client.get("/api/v1/search", {"q": "grace@navy.example"}).json()["items"]
    assert by_email[0] == {
        "kind": "contact",
        "id": contact.pk,
        "name": "Grace Hopper",
        "score": 1.0,
        "matched_on": "email",
    }
    by_phone = client.get("/api/v1/search", {"q": "020 7946 0018"}).json()["items"]
    assert by_phone[0]["matched_on"] == "phone"
    assert (
        client.get("/api/v1/search", {"q": "hopper.example"}).json()["items"][0]["kind"]
        == "account"
    )


def test_search_requires_q(api_client):
    response = api_client("alice").get("/api/v1/search")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["q"]
