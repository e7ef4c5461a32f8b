"""Django settings for the ASGI probe: the same project with the async URL table."""

from probe_django.settings import *  # noqa: F401,F403

ROOT_URLCONF = "probe_django.urls_asgi"
