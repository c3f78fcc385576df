"""django-tenants' PostgreSQL backend that knows which search_path its connection really has."""
