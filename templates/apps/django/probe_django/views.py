"""Views of the Django probe app; the same views serve WSGI and ASGI."""

import asyncio
import functools
import time

import probe_contract as pc
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.clickjacking import xframe_options_deny


def _is_asgi(request):
    return isinstance(request, ASGIRequest)


def _app_name(request):
    return "django-asgi" if _is_asgi(request) else "django"


def _server_environ(request):
    """The WSGI environ with PATH_INFO as the server passed it (see probe_django.wsgi)."""
    raw = request.META.get("stackgen.raw_path_info")
    return dict(request.META, PATH_INFO=raw) if raw is not None else request.META


def _path(request):
    """The request path as the server passed it (scope path, or PATH_INFO per PEP 3333)."""
    return request.scope["path"] if _is_asgi(request) else pc.wsgi_path(_server_environ(request))


def _json(payload, code=200):
    response = HttpResponse(
        pc.to_json(payload), status=code, reason=pc.reason_phrase(code), content_type=pc.JSON_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response


def _probe_view(view):
    """Count the request and map ProbeError to 400, for sync and async views alike."""
    if asyncio.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request):
            pc.record_request(_path(request))
            try:
                return await view(request)
            except pc.ProbeError as error:
                return _json(pc.error_payload(str(error)), error.status)

        return async_wrapper

    @functools.wraps(view)
    def wrapper(request):
        pc.record_request(_path(request))
        try:
            return view(request)
        except pc.ProbeError as error:
            return _json(pc.error_payload(str(error)), error.status)

    return wrapper


def _query(request):
    return request.META.get("QUERY_STRING", "")


@_probe_view
def echo(request):
    if _is_asgi(request):
        return _json(pc.asgi_echo("django-asgi", request.scope, request.body))
    # The body as Django hands it to a view (request.body): a body the framework loses on
    # this stack (e.g. a chunked upload Django 3.2 cannot see) fails the probe, as it
    # would fail the user's app.
    # The client address as a Django view reads it: request.META["REMOTE_ADDR"].
    # An absolute URL as a Django app builds one (password-reset links, redirects, feeds): its
    # scheme is request.is_secure()'s, so it says https only when the stack told Django so.
    return _json(
        pc.wsgi_echo(
            "django",
            _server_environ(request),
            request.body,
            remote_addr=request.META.get("REMOTE_ADDR"),
            absolute_url=request.build_absolute_uri("/stackgen-absolute"),
        )
    )


@_probe_view
def slow(request):
    ms = pc.query_int(_query(request), "ms")
    start = time.time()
    time.sleep(ms / 1000)  # the sync model's sleep; gevent's when monkey-patched
    return _json(pc.slow_payload(ms, start, time.time()))


@_probe_view
async def slow_async(request):
    ms = pc.query_int(_query(request), "ms")
    start = time.time()
    await asyncio.sleep(ms / 1000)
    return _json(pc.slow_payload(ms, start, time.time()))


@_probe_view
def stream(request):
    chunks = pc.query_int(_query(request), "chunks")
    interval_ms = pc.query_int(_query(request), "interval_ms")

    # Django 3.2 iterates a streaming body synchronously, under ASGI on the event
    # loop itself: there is no async iterator support before Django 4.2.
    def generate():
        for index in range(chunks):
            if index:
                time.sleep(interval_ms / 1000)
            yield pc.stream_line(index)

    response = StreamingHttpResponse(generate(), content_type=pc.STREAM_TYPE)
    for name, value in pc.stream_headers(_query(request)):
        response[name] = value
    return response


@_probe_view
def task(request):
    try:
        from probe_django.celery import slow_task
    except ImportError:  # a stack without `tasks:` needs no Celery
        return _json(pc.error_payload("celery is not installed"), 501)
    query = _query(request)
    payload, code = pc.run_task(slow_task, pc.query_int(query, "ms"), pc.query_task_id(query))
    return _json(payload, code)


@_probe_view
def task_state(request):
    try:
        from probe_django.celery import slow_task
    except ImportError:
        return _json(pc.error_payload("celery is not installed"), 501)
    return _json(pc.task_state_payload(slow_task, pc.query_task_id(_query(request))))


@_probe_view
def count(request):
    return _json(pc.count_payload())


@_probe_view
def pid(request):
    return _json(pc.pid_payload())


@_probe_view
def cookie(request):
    # Secure exactly when Django says the request is secure (request.is_secure(): the scheme the
    # server put in wsgi.url_scheme or the ASGI scope — SECURE_PROXY_SSL_HEADER is unset here), set
    # through Django's own HttpResponse.set_cookie. Behind TLS that says https only if the stack
    # told the app so.
    secure = request.is_secure()
    response = _json(pc.cookie_payload(secure, request.scheme))
    response.set_cookie(pc.COOKIE_NAME, pc.COOKIE_VALUE, secure=secure, httponly=True, samesite="Lax")
    return response


@_probe_view
@xframe_options_deny
def frame(request):
    # X-Frame-Options: DENY the way Django apps send it (the clickjacking decorator of
    # XFrameOptionsMiddleware); the other two as SecurityMiddleware would set them.
    response = _json(pc.frame_payload())
    for name, value in pc.APP_SECURITY_HEADERS:
        if name != "X-Frame-Options":
            response[name] = value
    return response


@_probe_view
def status(request):
    code = pc.query_int(_query(request), "code")
    if not pc.status_allows_body(code):
        return HttpResponse(b"", status=code, reason=pc.reason_phrase(code))
    return _json(pc.status_payload(code), code)


@_probe_view
def unknown_probe(request):
    return _json(pc.unknown_probe_payload(_path(request)), 404)
