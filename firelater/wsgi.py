"""WSGI entry point (gunicorn firelater.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from firelater.middleware import TerminatedInputMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "firelater.settings")
# Chunked request bodies (no Content-Length) are read, not taken for empty ones.
application = TerminatedInputMiddleware(get_wsgi_application())
