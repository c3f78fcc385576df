# The test project's tenants and their host names (django-tenants' mixins).
import django.db.models.deletion
from django.db import migrations, models
from django_tenants.postgresql_backend.base import _check_schema_name

ID = ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))
SCHEMA = models.CharField(db_index=True, max_length=63, unique=True, validators=[_check_schema_name])
TENANT = models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="domains", to="customers.client")  # noqa: E501


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Client", [ID, ("schema_name", SCHEMA), ("name", models.CharField(max_length=100))]),  # noqa: E501
        migrations.CreateModel("Domain", [ID, ("domain", models.CharField(db_index=True, max_length=253, unique=True)), ("is_primary", models.BooleanField(db_index=True, default=True)), ("tenant", TENANT)]),  # noqa: E501
    ]
