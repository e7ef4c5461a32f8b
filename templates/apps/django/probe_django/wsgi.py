"""stackgen probe app: Django under WSGI. Entry: probe_django.wsgi:application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probe_django.settings")

# The key under which the server's own PATH_INFO survives Django.
RAW_PATH_INFO = "stackgen.raw_path_info"

django_application = get_wsgi_application()


def application(environ, start_response):
    # WSGIRequest overwrites environ["PATH_INFO"] with its decoded path; keep the
    # PEP 3333 value so the echo reports what the server passed, like the other apps.
    environ[RAW_PATH_INFO] = environ.get("PATH_INFO", "")
    return django_application(environ, start_response)
