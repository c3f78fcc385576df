# DeferredCacheInvalidation was created here before the cache became an app of its own;
# it now belongs to tenant_cache, whose 0001 creates its table (same name) if missing and
# adopts an existing one. Nothing is left to do here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0001_initial'),
    ]

    operations = []
