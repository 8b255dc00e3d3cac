"""Identifying data-dictionary fields, each compared on its own by its type (issue 13):
dates with their typing slips, identifiers with one edit; their own fields in the vector,
their own weights, and a stored model that meets a changed data dictionary."""

from __future__ import annotations

import pytest

from rapport.customers.models import DataField
from rapport.customers.tests.factories import make_contact
from rapport.identity import check, load
from rapport.identity import model as fs
from rapport.identity.blocking import Person
from rapport.identity.compare import (
    VECTOR_FIELDS,
    DateLevel,
    Level,
    codes,
    contact_fields,
    contact_vector,
    dates,
    describe,
    identifying_field,
    identifying_fields_of,
)
from rapport.identity.models import MatchSettings


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("1980-03-10", "1980-03-10", DateLevel.EXACT),
        ("1980-03-10", "19800310", DateLevel.EXACT),  # compact
        ("1980-03-10", "10/03/1980", DateLevel.EXACT),  # day first
        ("1980-03-10", "1980-10-03", DateLevel.TRANSPOSED),  # day and month swapped
        ("1980-03-10", "1981-03-10", DateLevel.YEAR_NEAR),
        ("1980-03-10", "1990-03-10", DateLevel.ONE_OFF),  # one digit of the year
        ("1980-03-10", "1980-03-16", DateLevel.ONE_OFF),  # one digit of the day
        ("1980-03-10", "1980-08-10", DateLevel.ONE_OFF),  # one digit of the month
        ("1980-03-10", "1980-03-27", DateLevel.DIFFERENT),  # another day altogether
        ("1980-03-10", "1975-07-02", DateLevel.DIFFERENT),
    ],
)
def test_dates_are_compared_by_their_parts(a, b, level):
    assert dates([a], [b]) == level
    assert dates([b], [a]) == level


def test_no_date_on_one_side_is_missing_and_a_value_not_a_date_compares_as_written():
    assert dates([], ["1980-03-10"]) == DateLevel.MISSING
    assert dates(["unknown"], ["Unknown"]) == DateLevel.EXACT
    assert dates(["unknown"], ["1980-03-10"]) == DateLevel.DIFFERENT


def test_identifiers_allow_one_slip_in_a_long_enough_value():
    assert codes(["C-4711"], ["c 4711"]) == Level.EXACT
    assert codes(["C-4711"], ["C-4717"]) == Level.STRONG  # one character changed
    assert codes(["AB123456"], ["AB124356"]) == Level.STRONG  # two neighbours swapped
    assert codes(["A12"], ["A13"]) == Level.DIFFERENT  # too short for a slip to be one
    assert codes(["C-4711"], ["D-9000"]) == Level.DIFFERENT
    assert codes([], ["C-4711"]) == Level.MISSING


def _person(given: str, family: str, *identifiers: str) -> Person:
    return Person(given, family, identifiers=identifiers)


def test_each_identifying_field_has_its_own_level_in_the_vector():
    fields = (identifying_field("birth_date", "date"), identifying_field("customer_no", "text"))
    assert fields == ("date:birth_date", "id:customer_no")
    a = _person("Ann", "Lee", "date:birth_date=1980-03-10", "id:customer_no=C-4711")
    b = _person("Ann", "Lee", "date:birth_date=1980-10-03", "id:customer_no=C-9000")
    vector = dict(
        zip(contact_fields(fields), contact_vector(a, b, identifying=fields), strict=True)
    )
    assert vector["date:birth_date"] == DateLevel.TRANSPOSED
    assert vector["id:customer_no"] == Level.DIFFERENT
    # Without identifying fields the vector has only the common fields.
    assert len(contact_vector(a, b)) == len(VECTOR_FIELDS)


def test_the_identifying_fields_are_found_in_the_values():
    people = [
        _person("A", "B", "date:birth_date=1980-03-10", "id:customer_no=7"),
        _person("C", "D", "dob=1975-01-02", "passport=X123"),
        _person("E", "F", "dob=02/01/1975", "passport=Y456"),
    ]
    assert identifying_fields_of(people) == (
        "date:birth_date",
        "date:dob",
        "id:customer_no",
        "id:passport",
    )


def test_the_steward_reads_what_each_date_level_means():
    field = "date:birth_date"
    assert describe(field, DateLevel.EXACT, "date of birth") == "same date of birth"
    assert "day and month swapped" in describe(field, DateLevel.TRANSPOSED, "date of birth")
    assert "year one apart" in describe(field, DateLevel.YEAR_NEAR, "date of birth")
    assert "one slip apart" in describe(field, DateLevel.ONE_OFF, "date of birth")
    assert describe(field, DateLevel.DIFFERENT) == "different birth date"  # by its key
    assert "one character apart" in describe("id:customer_no", Level.STRONG, "customer number")


def test_strangers_sharing_only_a_date_of_birth_are_not_a_match():
    fields = contact_fields(("date:birth_date",))
    model = fs.default_model(fields)
    a = _person("Ann", "Lee", "date:birth_date=1980-03-10")
    b = _person("Tom", "Okafor", "date:birth_date=1980-03-10")
    assert model.probability(contact_vector(a, b, identifying=fields[-1:])) < 0.1
    same = _person("Ann", "Lee", "date:birth_date=1980-03-11")
    slip = model.probability(contact_vector(a, same, identifying=fields[-1:]))
    different = model.probability(
        contact_vector(
            a, _person("Ann", "Lee", "date:birth_date=1962-11-27"), identifying=fields[-1:]
        )
    )
    assert slip > different  # a one-digit slip is not a different date


@pytest.fixture
def birth_date(db):
    return DataField.objects.create(
        entity="contact", key="birth_date", label="Date of birth", type="date", is_identifying=True
    )


def test_the_loader_names_each_value_by_its_field(birth_date):
    DataField.objects.create(
        entity="contact",
        key="customer_no",
        label="Customer number",
        type="text",
        is_identifying=True,
    )
    contact = make_contact(
        given_name="Ann", family_name="Lee", custom={"birth_date": "1980-03-10", "customer_no": "7"}
    )
    person = dict(load.people([contact.pk]))[contact.pk]
    assert sorted(person.identifiers) == ["date:birth_date=1980-03-10", "id:customer_no=7"]
    assert check.fields_of("contact") == (*VECTOR_FIELDS, "date:birth_date", "id:customer_no")


def test_the_check_explains_a_transposed_date_of_birth_in_words(personas, birth_date):
    stored = make_contact(given_name="Ann", family_name="Lee", custom={"birth_date": "1980-03-10"})
    found = check.duplicates_check(
        actor=personas["alice"],
        kind="contact",
        data={"given_name": "Ann", "family_name": "Lee", "custom": {"birth_date": "1980-10-03"}},
    )
    assert [m.record_id for m in found] == [stored.pk]
    evidence = next(e for e in found[0].evidence if e.field == "date:birth_date")
    assert evidence.words == "date of birth with day and month swapped (a typing slip)"
    assert evidence.weight > 0


def _store(model: fs.Model | dict) -> MatchSettings:
    conf = MatchSettings.objects.order_by("pk").first() or MatchSettings.objects.create()
    data = model if isinstance(model, dict) else model.to_json()
    MatchSettings.objects.filter(pk=conf.pk).update(contact_model=data, version=conf.version + 1)
    return check.match_settings()


def test_a_model_stored_before_identifying_fields_were_split_gives_way_to_the_start(db):
    old = fs.default_model(
        [
            "given",
            "family",
            "email",
            "phone",
            "organisation",
            "address",
            "identifier",
            "given_rarity",
            "family_rarity",
        ]  # fmt: skip
    ).to_json()
    old["m"][0] = {"3": 0.99, "2": 0.004, "1": 0.003, "0": 0.003}  # fitted, as it were
    model = check.current_model("contact", _store(old))
    assert model.fields == list(VECTOR_FIELDS)
    assert model.m[0] == check.cold_start("contact").m[0]


def test_a_field_added_to_the_data_dictionary_joins_the_stored_model(db):
    fitted = fs.default_model(list(VECTOR_FIELDS))
    fitted.m[0] = {3: 0.97, 2: 0.02, 1: 0.005, 0: 0.005}
    conf = _store(fitted)
    DataField.objects.create(
        entity="contact", key="birth_date", label="Date of birth", type="date", is_identifying=True
    )
    model = check.current_model("contact", conf)
    assert model.fields == [*VECTOR_FIELDS, "date:birth_date"]
    assert model.m[0] == fitted.m[0]  # the fitted weights are kept
    birth = model.fields.index("date:birth_date")
    assert model.weight(birth, DateLevel.EXACT) > 0 > model.weight(birth, DateLevel.DIFFERENT)
    # And when it leaves again (switched off as identifying), so does its comparison field.
    DataField.objects.filter(key="birth_date").update(is_identifying=False)
    conf = _store(model)
    assert check.current_model("contact", conf).fields == list(VECTOR_FIELDS)


def test_a_vector_stored_with_the_old_fields_is_explained_in_the_new_ones(db):
    model = check.cold_start("contact")
    old = (3, 3, 3, 0, -1, -1, 3, 2, 2)  # given … address, identifier, rarities
    evidence = {e.field: e for e in check.explain("contact", model, old)}
    assert "identifier" not in evidence and evidence["email"].level == Level.EXACT
    assert evidence["given_rarity"].level == 2


def test_turning_identifying_fields_off_masks_every_one_of_them():
    vector = (3, 3, -1, -1, -1, -1, -1, -1, 3, 0)
    assert check.masked(vector, "contact", ["identifier"])[-2:] == (-1, -1)
    fields = (*VECTOR_FIELDS, "date:birth_date", "id:customer_no")
    assert check.masked(vector, "contact", ["id:customer_no"], fields)[-2:] == (3, -1)


def test_a_seven_digit_number_is_not_read_as_a_date():
    from rapport.identity.compare import date_parts

    assert date_parts("2679282") is None and date_parts("19800310") == (1980, 3, 10)
    people = [_person("A", "B", f"customer_no={n}") for n in ("2679282", "1516795", "7706352")]
    assert identifying_fields_of(people) == ("id:customer_no",)


def test_pairs_sharing_a_customer_number_teach_the_model_how_names_differ():
    """With no e-mail or phone, the pairs with the same identifier are where EM learns
    the names' weights: a different given name then weighs well against a match."""
    import random

    from rapport.identity.scan import scan_contacts

    rng = random.Random(5)
    given = ["Ann", "Tom", "Eva", "Max", "Ida", "Leo", "Mia", "Ole", "Pia", "Ugo"] * 3
    people = []
    for k in range(600):
        g, f = rng.choice(given) + "x" * (k % 3), f"Fam{rng.randrange(300)}"
        number = f"{rng.randrange(10**6, 10**7)}"
        people.append(_person(g, f, f"id:customer_no={number}"))
        if k % 3 == 0:  # the same person again, sometimes with a typo in the family name
            people.append(_person(g, f if k % 2 else f + "e", f"id:customer_no={number}"))
    model = scan_contacts(people).model
    assert model.fields[-1] == "id:customer_no"
    given_at = model.fields.index("given")
    assert model.weight(given_at, Level.DIFFERENT) < -6
    assert model.weight(model.fields.index("id:customer_no"), Level.EXACT) > 10


def test_the_settings_page_names_an_identifying_field_by_its_label(personas, birth_date):
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(personas["alice"])
    page = client.get(reverse("identity:settings")).content.decode()
    assert 'value="date:birth_date"' in page and "Date of birth (identifying)" in page
