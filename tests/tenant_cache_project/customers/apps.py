from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "tests.tenant_cache_project.customers"
    label = "customers"
