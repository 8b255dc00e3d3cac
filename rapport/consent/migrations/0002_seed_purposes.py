from django.db import migrations

# key, label, lawful basis, double opt-in for e-mail, marketing (one-click unsubscribe)
PURPOSES = [
    ("newsletter", "Newsletter", "consent", True, True),
    ("product_news", "Product news", "consent", False, True),
    ("events", "Events", "consent", False, True),
    ("surveys", "Surveys", "legitimate_interest", False, True),
    ("service", "Service messages", "contract", False, False),
    ("profiling", "Profiling", "consent", False, False),
]


def seed(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    for position, (key, label, basis, double, marketing) in enumerate(PURPOSES):
        Purpose.objects.get_or_create(
            key=key,
            defaults={
                "label": label, "lawful_basis": basis, "double_opt_in": double,
                "is_marketing": marketing, "position": position * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_consent_and_outbound")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
