from django.db import migrations

BUILTIN = [
    ("inquiry", "Inquiry", 10),
    ("complaint", "Complaint", 20),
    ("request", "Request", 30),
    ("incident", "Incident", 40),
]


def seed(apps, schema_editor):
    CaseKind = apps.get_model("service", "CaseKind")
    for key, name, order in BUILTIN:
        CaseKind.objects.update_or_create(
            key=key, defaults={"name": name, "order": order, "builtin": True, "active": True}
        )


def unseed(apps, schema_editor):
    CaseKind = apps.get_model("service", "CaseKind")
    CaseKind.objects.filter(key__in=[k for k, _, _ in BUILTIN], cases__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("service", "0001_cases")]

    operations = [migrations.RunPython(seed, unseed)]
