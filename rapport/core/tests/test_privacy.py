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


def test_a_table_about_a_contact_that_no_handler_covers_fails_the_check(registry, monkeypatch):
    monkeypatch.setattr(privacy, "PENDING", privacy.PENDING - {"ingest.Proposal"})
    errors = privacy.check_privacy_registry()
    assert [(e.id, e.obj) for e in errors] == [("core.E001", "ingest.Proposal")]
    privacy.register(
        "proposals", export=lambda **kw: [], erase=lambda **kw: 0, models=("ingest.Proposal",)
    )
    assert privacy.check_privacy_registry() == []


def test_a_covered_table_left_pending_fails_the_check(registry):
    privacy.register(
        "proposals", export=lambda **kw: [], erase=lambda **kw: 0, models=("ingest.Proposal",)
    )
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
