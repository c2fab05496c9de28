"""WSGI entry point (gunicorn duban.wsgi)."""

from duban.settings import configure

configure()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
