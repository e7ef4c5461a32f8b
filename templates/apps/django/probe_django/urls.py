"""URL table of the Django probe under WSGI: /__probe/slow sleeps with time.sleep."""

from django.urls import path, re_path

from probe_django import views


def probe_urls(slow_view):
    """The contract's routes; only the slow view differs between WSGI and ASGI."""
    return [
        path("__probe/slow", slow_view),
        path("__probe/stream", views.stream),
        # Below any prefix too (/events/__probe/stream): the proxy.unbuffered locations.
        re_path(r"^.*/__probe/stream$", views.stream),
        path("__probe/count", views.count),
        path("__probe/task", views.task),
        path("__probe/task-state", views.task_state),
        path("__probe/pid", views.pid),
        path("__probe/frame", views.frame),
        path("__probe/cookie", views.cookie),
        path("__probe/status", views.status),
        re_path(r"^__probe/", views.unknown_probe),
        re_path(r"", views.echo),
    ]


urlpatterns = probe_urls(views.slow)
