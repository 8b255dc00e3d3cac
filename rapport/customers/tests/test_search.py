import pytest

from rapport.customers.selectors import search
from rapport.customers.tests.factories import make_account, make_contact


@pytest.fixture
def people(personas):
    acme = make_account(name="Acme Widgets Ltd", domains=["acme.com"], owner=personas["bob"], phone="+44 20 7946 0000")
    robert = make_contact(full_name="Robert Smith", emails=["robert.smith@acme.com"], phones=["020 7946 0958"], account=acme, owner=personas["bob"])
    elisabeth = make_contact(full_name="Élisabeth Müller", emails=["liz@web.de"], phones=["+49 30 901820"], owner=personas["carl"])
    return {"acme": acme, "robert": robert, "elisabeth": elisabeth}


def _found(results):
    return {h.obj for h in results.all}


@pytest.mark.parametrize(
    "query",
    ["Robert Smith", "smith robert", "robert", "Rob", "Robrt Smith", "Robert Smiht", "robert.smith@acme.com", "ROBERT.SMITH@ACME.COM",
     "+44 20 7946 0958", "020 7946 0958", "442079460958", "02079460958"],
)
def test_a_contact_is_found_by_name_typo_email_and_any_phone_format(people, alice, query):
    assert people["robert"] in _found(search(actor=alice, q=query))


@pytest.mark.parametrize("query", ["acme.com", "www.acme.com", "Acme", "acme widgets", "Acme Wdgets"])
def test_an_account_is_found_by_domain_and_name(people, alice, query):
    assert people["acme"] in _found(search(actor=alice, q=query))


def test_accents_do_not_matter(people, alice):
    assert people["elisabeth"] in _found(search(actor=alice, q="elisabeth muller"))


def test_search_never_shows_records_the_user_may_not_see(people, personas):
    carl = personas["carl"]
    assert people["robert"] not in _found(search(actor=carl, q="Robert Smith"))
    assert people["robert"] not in _found(search(actor=carl, q="020 7946 0958"))
    assert people["elisabeth"] in _found(search(actor=carl, q="Muller"))


def test_a_renamed_contact_is_found_by_the_new_name_only(people, alice):
    from conftest import actor
    from rapport.customers import services

    services.contact_update(actor=actor(alice), contact=people["robert"], data={"family_name": "Jones"})
    assert people["robert"] in _found(search(actor=alice, q="Robert Jones"))
    assert people["robert"] not in _found(search(actor=alice, q="Robert Smith"))


def test_search_runs_a_bounded_number_of_queries(people, alice, django_assert_max_num_queries):
    for i in range(30):
        make_contact(full_name=f"Robert Smith{i}")
    with django_assert_max_num_queries(12):
        search(actor=alice, q="Robert Smith")


@pytest.fixture
def carpenters(personas):
    return {
        "robert": make_contact(full_name="Robert Carpenter", owner=personas["bob"]),
        "bob": make_contact(full_name="Bob Carpenter", owner=personas["bob"]),
        "karen": make_contact(full_name="Karen Carpenter", owner=personas["bob"]),
        "bobby": make_contact(full_name="Bob Smith", owner=personas["bob"]),
    }


def test_a_nickname_finds_the_full_given_name_and_the_other_way_round(carpenters, alice):
    found = [h.obj for h in search(actor=alice, q="Bob Carpenter").contacts]
    # The one called Bob first, then Robert; neither Karen nor another Bob.
    assert found == [carpenters["bob"], carpenters["robert"]]
    assert [h.obj for h in search(actor=alice, q="Robert Carpenter").contacts] == [
        carpenters["robert"],
        carpenters["bob"],
    ]


def test_the_contact_list_search_finds_a_nickname(carpenters, client, personas):
    client.force_login(personas["bob"])
    page = client.get("/contacts/", {"q": "Bob Carpenter"}).content.decode()
    assert "Robert Carpenter" in page and "Karen Carpenter" not in page


def test_a_nickname_search_reads_the_token_index_in_as_many_queries_as_a_name(carpenters, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    search(actor=alice, q="Carpenter")  # the role's policy is read once and cached
    with CaptureQueriesContext(connection) as plain:
        search(actor=alice, q="Karen Carpenter")
    with CaptureQueriesContext(connection) as nickname:
        found = search(actor=alice, q="Bob Carpenter")
    assert carpenters["robert"] in _found(found)
    assert len(nickname.captured_queries) == len(plain.captured_queries)
    for query in nickname.captured_queries:
        sql = query["sql"]
        assert " LIKE " not in sql.upper()
        # Contacts are read by id only, once the token index has named them.
        if 'FROM "customers_contact"' in sql:
            assert '"customers_contact"."id" IN (' in sql


def test_a_family_name_that_is_a_nickname_does_not_rank_as_the_given_name(carpenters, alice):
    bill = make_contact(full_name="Anna Bill")
    hits = search(actor=alice, q="Robert").contacts
    assert hits[0].obj == carpenters["robert"]
    assert [h.score for h in hits if h.obj == bill][0] < 0.5


@pytest.mark.parametrize("query", ["robert.smith@acme.com\x00", "Robert\x00 Smith", "020 7946 0958\x00"])
def test_a_control_character_typed_in_the_search_box_is_ignored(people, alice, query):
    assert people["robert"] in _found(search(actor=alice, q=query))
