"""The merge registry: a new kind of row that points at contacts moves on merge and comes
back on unmerge, and one nobody registered stops merges and fails the system check."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, models

from conftest import actor
from rapport.core.errors import Conflict
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact
from rapport.identity import services
from rapport.identity.apps import check_merge_registry
from rapport.identity.registry import REGISTRY, Relation


def _consent_model() -> type[models.Model]:
    """A model a later app might add: one consent per contact, channel and purpose."""
    name = "MergeProbeConsent"
    try:
        return apps.get_model("identity", name)
    except LookupError:
        pass

    class MergeProbeConsent(models.Model):
        contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
        channel = models.CharField(max_length=10)
        granted = models.BooleanField()

        class Meta:
            app_label = "identity"
            constraints = [
                models.UniqueConstraint(
                    fields=["contact", "channel"], name="probe_one_consent_per_channel"
                )
            ]

        def __str__(self) -> str:
            return f"{self.channel}: {self.granted}"

    return MergeProbeConsent


@pytest.fixture
def consent_model(transactional_db):
    model = _consent_model()
    with connection.schema_editor() as editor:
        editor.create_model(model)
    yield model
    REGISTRY.unregister(model)
    with connection.schema_editor() as editor:
        editor.delete_model(model)
    # Out of the app registry too: later tests must not see a foreign key nobody declares.
    del apps.all_models["identity"][model._meta.model_name]
    apps.clear_cache()


def _most_restrictive(survivor: dict, merged: dict) -> dict:
    return {"granted": survivor["granted"] and merged["granted"]}


def test_an_unregistered_foreign_key_fails_the_check_and_stops_merges(personas, consent_model):
    names = [e.msg for e in check_merge_registry()]
    assert any("MergeProbeConsent.contact" in n for n in names)
    a, b = make_contact(), make_contact()
    consent_model.objects.create(contact=b, channel="email", granted=True)
    with pytest.raises(Conflict):
        services.records_merge(
            actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
        )
    assert consent_model.objects.filter(contact=b).exists()  # nothing deleted


def test_a_registered_model_moves_on_merge_keeps_the_strictest_value_and_comes_back(
    personas, consent_model
):
    REGISTRY.register(
        Relation(
            consent_model, "contact", "contact", unique_with=("channel",), combine=_most_restrictive
        )
    )
    assert check_merge_registry() == []
    a, b = make_contact(), make_contact()
    keep = consent_model.objects.create(contact=a, channel="email", granted=True)
    refused = consent_model.objects.create(contact=b, channel="email", granted=False)
    sms = consent_model.objects.create(contact=b, channel="sms", granted=True)

    merge = services.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )

    rows = {r.channel: r for r in consent_model.objects.filter(contact=a)}
    assert set(rows) == {"email", "sms"}
    assert rows["email"].pk == keep.pk and rows["email"].granted is False  # the refusal wins
    assert rows["sms"].pk == sms.pk

    services.merge_undo(actor=actor(personas["stella"]), merge=merge)

    assert {(r.pk, r.contact_id, r.channel, r.granted) for r in consent_model.objects.all()} == {
        (keep.pk, a.pk, "email", True),
        (refused.pk, b.pk, "email", False),
        (sms.pk, b.pk, "sms", True),
    }


def test_the_probe_model_is_gone_after_its_tests():
    assert check_merge_registry() == []
