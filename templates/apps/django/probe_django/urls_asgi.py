"""URL table of the Django probe under ASGI: /__probe/slow is an async view.

Django 3.2 runs every sync view of an ASGI app on one shared thread
(sync_to_async(thread_sensitive=True)), so a sync slow view would serialise all
concurrent requests and hide the event loop's real behaviour."""

from probe_django import views
from probe_django.urls import probe_urls

urlpatterns = probe_urls(views.slow_async)
