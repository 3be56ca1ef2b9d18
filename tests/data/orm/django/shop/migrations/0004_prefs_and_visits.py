from django.db import migrations, models


def count_a_visit(apps, schema_editor):
    Customer = apps.get_model("shop", "Customer")
    Customer.objects.update(visits=models.F("visits") + 1)


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0003_bigger_numbers"),
    ]

    operations = [
        # A default Django computes when the migration runs, code only Django can run, and an
        # index that would be built concurrently in a migration of its own.
        migrations.AddField(
            model_name="customer",
            name="prefs",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(count_a_visit, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["total"], name="order_total_idx"),
        ),
    ]
