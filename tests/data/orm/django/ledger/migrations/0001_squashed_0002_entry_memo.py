import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("ledger", "0001_initial"), ("ledger", "0002_entry_memo")]

    initial = True

    dependencies = [
        ("billing", "0002_invoice_paid"),
    ]

    operations = [
        migrations.CreateModel(
            name="Entry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.IntegerField()),
                ("invoice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="billing.invoice")),
                ("memo", models.TextField(null=True)),
            ],
        ),
    ]
