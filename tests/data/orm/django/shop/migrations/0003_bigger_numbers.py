import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0002_order_status"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="quantity",
            field=models.BigIntegerField(),
        ),
        migrations.AlterField(
            model_name="customer",
            name="visits",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="order",
            name="referrer",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="shop.customer"
            ),
        ),
        migrations.RenameField(
            model_name="customer",
            old_name="phone",
            new_name="mobile",
        ),
    ]
