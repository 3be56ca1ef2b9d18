import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("shop", "0003_bigger_numbers"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="paid",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="Payment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference", models.CharField(db_index=True, max_length=64)),
                ("invoice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="billing.invoice")),
            ],
        ),
        migrations.RemoveField(
            model_name="invoice",
            name="amount",
        ),
    ]
