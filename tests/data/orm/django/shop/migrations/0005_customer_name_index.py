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
    ]
