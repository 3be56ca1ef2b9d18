from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0004_prefs_and_visits"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name"], name="customer_name_idx"),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=["email", "mobile"], name="customer_email_mobile_once", nulls_distinct=False
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=["name", "email"], name="customer_name_email_once", deferrable=models.Deferrable.DEFERRED
            ),
        ),
        # Defaults Django calls once when the migration runs.
        migrations.AddField(
            model_name="order",
            name="tags",
            field=models.JSONField(default=list),
        ),
        migrations.AddField(
            model_name="order",
            name="extra",
            field=models.JSONField(default={}),
        ),
    ]
