# DeferredCacheInvalidation moved to tenant_cache (its table kept): forget it here, state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_deferred_cache_invalidation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='DeferredCacheInvalidation')],
        ),
    ]
