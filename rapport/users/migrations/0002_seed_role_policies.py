from django.db import migrations


def seed(apps, schema_editor):
    from rapport.users.permissions import DEFAULT_POLICIES

    RolePolicy = apps.get_model("users", "RolePolicy")
    for role, kinds in DEFAULT_POLICIES.items():
        for kind, (rights, visibility, hidden, readonly) in kinds.items():
            RolePolicy.objects.get_or_create(
                role=role,
                kind=kind,
                defaults={
                    **{f"can_{k}": v for k, v in rights.items()},
                    "visibility": visibility,
                    "hidden_fields": list(hidden),
                    "readonly_fields": list(readonly),
                },
            )


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
