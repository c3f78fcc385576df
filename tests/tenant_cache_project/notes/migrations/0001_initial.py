# The test project's one cached model.
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Note", [("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("text", models.CharField(max_length=200)), ("pinned", models.BooleanField(default=False))]),  # noqa: E501
    ]
