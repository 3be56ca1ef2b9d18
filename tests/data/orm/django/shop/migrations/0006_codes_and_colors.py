import shop.fields
from django.db import migrations
from shop.fields import Color


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0005_customer_name_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="code",
            field=shop.fields.UpperCode(null=True, unique=True),
        ),
        migrations.AddField(
            model_name="order",
            name="color",
            field=Color(default="ffffff"),
        ),
        migrations.AlterField(
            model_name="customer",
            name="code",
            field=shop.fields.UpperCode(max_length=40, null=True, unique=True),
        ),
    ]
