"""Minimal Django settings for the stackgen examples (no database)."""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
# The stack serves this one name (stack.yaml proxy.server_name); Django refuses any other.
ALLOWED_HOSTS = ["shop.example"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
# nginx sets X-Forwarded-Proto from $scheme; trust it only because nginx replaces the client's.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served over https only (the TLS example sets DJANGO_HTTPS=1; nginx redirects http there):
# the browser then sends the session and CSRF cookies over https alone.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("DJANGO_HTTPS") == "1"
STATIC_URL = "/static/"
# proxy.max_body is 10m: accept every non-file body nginx lets through (Django's default,
# 2.5 MiB, would answer 400 to the bodies in between).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
