"""The export and erasure registry: every table about a contact says what to do with it."""

import pytest

from rapport.core import privacy


@pytest.fixture
def registry(monkeypatch):
    # The apps' own handlers stay (their tables are covered); the test's come on top.
    monkeypatch.setattr(privacy, "REGISTRY", dict(privacy.REGISTRY))
    return privacy.REGISTRY


@pytest.fixture
def empty_registry(monkeypatch):
    monkeypatch.setattr(privacy, "REGISTRY", {})
    return privacy.REGISTRY


def test_the_project_passes_today(registry):
    assert privacy.check_privacy_registry() == []
    assert "timeline.EntryLink" in privacy.models_about_a_person()
    assert "customers.Contact" in privacy.models_about_a_person()


def test_nothing_is_pending_any_more():
    assert not privacy.PENDING


def test_a_table_about_a_contact_that_no_handler_covers_fails_the_check(registry):
    del registry["ingest"]
    errors = privacy.check_privacy_registry()
    assert [(e.id, e.obj) for e in errors] == [("core.E001", "ingest.Proposal")]
    privacy.register(
        "proposals", export=lambda **kw: [], erase=lambda **kw: 0, models=("ingest.Proposal",)
    )
    assert privacy.check_privacy_registry() == []


def test_a_covered_table_left_pending_fails_the_check(registry, monkeypatch):
    monkeypatch.setattr(privacy, "PENDING", frozenset({"ingest.Proposal"}))
    assert [e.id for e in privacy.check_privacy_registry()] == ["core.E003"]


def test_a_handler_naming_no_model_fails_the_check(registry):
    privacy.register(
        "ghosts", export=lambda **kw: [], erase=lambda **kw: 0, models=("ingest.Ghost",)
    )
    assert [e.id for e in privacy.check_privacy_registry()] == ["core.E004"]


def test_export_and_erase_run_every_handler(empty_registry):
    erased = []
    privacy.register(
        "notes",
        export=lambda *, contact_id: [f"note of {contact_id}"],
        erase=lambda *, actor, contact_id: erased.append(contact_id) or 1,
    )
    privacy.register("calls", export=lambda *, contact_id: [], erase=lambda *, actor, contact_id: 0)
    assert privacy.export_all(contact_id=7) == {"calls": [], "notes": ["note of 7"]}
    assert privacy.erase_all(actor=None, contact_id=7) == {"calls": 0, "notes": 1} and erased == [7]


def test_a_kind_is_registered_once(empty_registry):
    privacy.register("notes", export=print, erase=print)
    with pytest.raises(ValueError):
        privacy.register("notes", export=repr, erase=repr)


def test_handlers_run_in_their_order_and_get_the_values_they_ask_for(empty_registry, monkeypatch):
    monkeypatch.setattr(privacy, "VALUE_SOURCES", [lambda cid: ["Ann Example", "ann@x.org", "Al"]])
    seen = []
    privacy.register(
        "last", export=dict, order=privacy.ORDER_AUDIT, wants_values=True,
        erase=lambda *, actor, contact_id, values: seen.append(("last", values)),
    )  # fmt: skip
    privacy.register(
        "record", export=dict, order=privacy.ORDER_RECORD,
        erase=lambda *, actor, contact_id: seen.append(("record", None)),
    )  # fmt: skip
    privacy.register(
        "app", export=dict, erase=lambda *, actor, contact_id: seen.append(("app", None))
    )
    privacy.erase_all(actor=None, contact_id=3)
    # Values too short to be the person's alone ("Al") are not looked for.
    assert seen == [("app", None), ("record", None), ("last", ["Ann Example", "ann@x.org"])]


def test_redaction_replaces_the_values_in_any_case_and_in_keys():
    values = ["Ann Example", "ann@x.org"]
    assert privacy.redact("Mail ANN@X.ORG about ann example", values) == (
        "Mail [erased] about [erased]"
    )
    assert privacy.redact_data({"to": ["ann@x.org", "bo@y.org"], "ann@x.org": 1}, values) == {
        "to": ["[erased]", "bo@y.org"],
        "[erased]": 1,
    }
    assert privacy.holds_any("from Ann Example", values) and not privacy.holds_any("Bo", values)
