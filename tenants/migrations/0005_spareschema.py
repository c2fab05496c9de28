from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_county_archived_city_membership_ended")]

    operations = [
        migrations.CreateModel(
            name="SpareSchema",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("schema_name", models.CharField(max_length=63, unique=True, verbose_name="数据库模式")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间")),
            ],
            options={"verbose_name": "备用模式", "verbose_name_plural": "备用模式", "ordering": ["id"]},
        ),
    ]
