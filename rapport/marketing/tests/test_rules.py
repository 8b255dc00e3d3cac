"""The segment rule language: what it selects, what it refuses and how it says so."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.customers import services as customer_services
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import SYSTEM, make_account
from rapport.marketing import rules, selectors
from rapport.marketing.tests.factories import make_segment
from rapport.sales.tests.factories import make_deal, stage
from rapport.service.models import Case
from rapport.service.tests.factories import make_case

pytestmark = pytest.mark.django_db

GERMAN_COMPLAINERS = {
    "op": "and",
    "rules": [
        {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
        {"field": "contact.country", "op": "eq", "value": "de"},
        {"field": "case.kind", "op": "eq", "value": "complaint", "within_days": 90},
        {"op": "not", "rules": [{"field": "deal.status", "op": "eq", "value": "open"}]},
    ],
}


def person(name: str, *, country: str = "DE", lifecycle: str = "customer", account=None, **data):
    parts = ContactParts(
        emails=[{"email": f"{name.lower()}@example.com"}],
        addresses=[{"city": "Berlin", "country": country}],
        memberships=[{"account": account.pk}] if account else [],
    )
    return customer_services.contact_create(
        actor=SYSTEM,
        data={"full_name": f"{name} Example", "lifecycle": lifecycle, **data},
        parts=parts,
    )


def ids(rules_data, user=None) -> set[int]:
    return set(rules.contacts_matching(user=user, rules=rules_data).values_list("pk", flat=True))


def test_customers_in_germany_with_a_recent_complaint_and_no_open_deal():
    acme, other = make_account(), make_account()
    anna = person("Anna", account=acme)  # matches
    bert = person("Bert", account=other)  # an open deal on his account
    carl = person("Carl", country="FR")  # in France
    dora = person("Dora", lifecycle="lead")  # not a customer
    emil = person("Emil")  # complaint too long ago
    fritz = person("Fritz")  # an inquiry, not a complaint
    for who in (anna, bert, carl, dora, emil):
        make_case(contact=who, kind="complaint")
    make_case(contact=fritz, kind="inquiry")
    Case.objects.filter(contact=emil).update(created_at=timezone.now() - dt.timedelta(days=120))
    make_deal(account=other)
    won = make_deal(account=acme)  # a closed deal does not count as open
    from rapport.sales import services as sales_services

    sales_services.deal_stage_change(actor=SYSTEM, deal=won, stage=stage("Won"))

    assert ids(GERMAN_COMPLAINERS) == {anna.pk}


def test_or_groups_and_not_groups_combine():
    a, b, c = person("Ann"), person("Ben", country="FR"), person("Cat", country="IT")
    either = {"op": "or", "rules": [
        {"field": "contact.country", "op": "eq", "value": "DE"},
        {"field": "contact.country", "op": "in", "value": ["fr"]},
    ]}  # fmt: skip
    assert ids(either) == {a.pk, b.pk}
    assert ids({"op": "not", "rules": [either]}) == {c.pk}


def test_text_number_and_date_operators():
    a = person("Ann", job_title="Head of Purchasing")
    b = person("Ben", job_title="Engineer")
    assert ids({"field": "contact.job_title", "op": "contains", "value": "purchas"}) == {a.pk}
    assert ids({"field": "contact.job_title", "op": "starts_with", "value": "eng"}) == {b.pk}
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date().isoformat()
    assert ids({"field": "contact.created", "op": "before", "value": tomorrow}) == {a.pk, b.pk}
    assert ids({"field": "contact.created", "op": "within_last_days", "value": 1}) == {a.pk, b.pk}
    assert ids({"field": "contact.created", "op": "more_than_days_ago", "value": 1}) == set()
    make_case(contact=a, kind="complaint", priority=1)
    assert ids({"field": "case.priority", "op": "lte", "value": "2"}) == {a.pk}


def test_a_data_dictionary_field_is_a_field_to_segment_on():
    customer_services.datafield_create(
        actor=SYSTEM,
        data={"entity": "contact", "key": "shoe_size", "label": "Shoe size", "type": "number"},
    )
    a, b = person("Ann"), person("Ben")
    customer_services.contact_update(actor=SYSTEM, contact=a, data={"custom": {"shoe_size": 44}})
    customer_services.contact_update(actor=SYSTEM, contact=b, data={"custom": {"shoe_size": 38}})
    assert ids({"field": "contact.custom.shoe_size", "op": "gt", "value": 40}) == {a.pk}


def test_a_field_hidden_from_a_role_cannot_be_segmented_on(personas):
    customer_services.datafield_create(
        actor=SYSTEM,
        data={
            "entity": "contact",
            "key": "credit",
            "label": "Credit",
            "type": "text",
            "view_roles": ["sales"],
        },
    )
    rule = {"field": "contact.custom.credit", "op": "eq", "value": "bad"}
    with pytest.raises(ValidationFailed) as caught:
        rules.validate(user=personas["mia"], rules=rule)
    assert caught.value.errors == {
        "rules.rules[0].field": ["contact.custom.credit: Your role may not read this field."]
    }
    assert (
        rules.validate(user=personas["bob"], rules=rule)["rules"][0]["field"]
        == "contact.custom.credit"
    )
    assert "contact.custom.credit" not in {f.name for f in rules.available_fields(personas["mia"])}


def test_bad_rules_are_named_by_place_field_and_reason():
    bad = {"op": "and", "rules": [
        {"field": "contact.shoe", "op": "eq", "value": "x"},
        {"field": "contact.lifecycle", "op": "gt", "value": "customer"},
        {"field": "contact.lifecycle", "op": "eq", "value": "emperor"},
        {"field": "case.kind", "op": "eq", "value": "complaint", "within_days": -3},
        {"field": "contact.created", "op": "before", "value": "yesterday"},
        {"op": "xor", "rules": []},
    ]}  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        rules.validate(user=None, rules=bad)
    errors = caught.value.errors
    assert errors["rules.rules[0].field"] == ["No field 'contact.shoe' to segment on."]
    assert "does not apply to a choice field" in errors["rules.rules[1].op"][0]
    assert "'emperor' is not one of" in errors["rules.rules[2].value"][0]
    assert "whole number of days" in errors["rules.rules[3].within_days"][0]
    assert "YYYY-MM-DD" in errors["rules.rules[4].value"][0]
    assert "and, or or not" in errors["rules.rules[5].op"][0]


def test_values_are_bound_never_spliced_into_sql():
    a = person("Ann")
    sneaky = {"field": "contact.job_title", "op": "eq", "value": "x' OR '1'='1"}
    assert ids(sneaky) == set()
    assert ids({"field": "contact.city", "op": "eq", "value": "Berlin"}) == {a.pk}


def test_too_many_rules_or_too_deep_are_refused():
    deep: dict = {"field": "contact.lifecycle", "op": "eq", "value": "lead"}
    for _ in range(7):
        deep = {"op": "and", "rules": [deep]}
    with pytest.raises(ValidationFailed, match="not valid"):
        rules.validate(user=None, rules=deep)
    many = {"op": "or", "rules": [{"field": "contact.language", "op": "eq", "value": "en"}] * 60}
    with pytest.raises(ValidationFailed) as caught:
        rules.validate(user=None, rules=many)
    assert any("At most 50 rules" in m for msgs in caught.value.errors.values() for m in msgs)


def test_a_dynamic_segment_follows_a_change_at_once_and_a_static_one_keeps_its_members():
    a = person("Ann", lifecycle="lead")
    b = person("Ben")
    rule = {"field": "contact.lifecycle", "op": "eq", "value": "customer"}
    dynamic = make_segment(rules=rule)
    static = make_segment(rules=rule, kind="static")
    assert selectors.segment_preview(actor=None, segment=dynamic).count == 1
    customer_services.contact_update(actor=SYSTEM, contact=a, data={"lifecycle": "customer"})
    assert {c.pk for c in selectors.segment_preview(actor=None, segment=dynamic).sample} == {
        a.pk,
        b.pk,
    }
    assert [c.pk for c in selectors.segment_preview(actor=None, segment=static).sample] == [b.pk]


def test_a_segment_shows_only_the_contacts_its_reader_may_see(personas):
    mine = person("Mine", owner=personas["bob"].pk)
    person("Theirs", owner=personas["carl"].pk)
    rule = {"field": "contact.lifecycle", "op": "eq", "value": "customer"}
    visible = ids(rule, user=personas["bob"])
    assert mine.pk in visible
    assert len(ids(rule, user=None)) == 2


def test_describe_says_the_rules_in_words():
    text = rules.describe(rules.validate(user=None, rules=GERMAN_COMPLAINERS))
    assert "Case: kind is complaint (last 90 days)" in text
    assert "not (Deal: status is open)" in text
