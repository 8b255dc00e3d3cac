"""A first pipeline and lost reasons, so a new installation can record deals at once."""

from decimal import Decimal

from django.db import migrations

STAGES = [
    ("Qualification", "0.10", "open"),
    ("Discovery", "0.25", "open"),
    ("Proposal", "0.50", "open"),
    ("Negotiation", "0.75", "open"),
    ("Won", "1.00", "won"),
    ("Lost", "0.00", "lost"),
]
REASONS = ["Price", "Competitor", "No budget", "No decision", "Timing", "Other"]


def fill(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name="Sales", is_default=True, currency="EUR")
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=n, order=i, probability=Decimal(p), kind=k)
        for i, (n, p, k) in enumerate(STAGES)
    )
    LostReason.objects.bulk_create(
        LostReason(name=n, order=i) for i, n in enumerate(REASONS)
    )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
