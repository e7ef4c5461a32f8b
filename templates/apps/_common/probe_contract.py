"""The stackgen probe contract, shared by every probe app.

`stackgen verify` replaces the user's application with a probe app written for the
same framework and interface, then sends real traffic through the generated stack.
Every probe app answers the same contract (mirrored in src/probes/contract.ts):

  any path not below /__probe/   echo JSON: the request as the application saw it
  /__probe/slow?ms=N             sleep N ms with the concurrency model's own sleep
  /__probe/stream?chunks=N&interval_ms=M
                                 N lines "chunk <i> <epoch>\\n", M ms apart
  /__probe/count                 requests served by all worker processes together
  /__probe/status?code=N         answer with status N
  /__probe/pid                   {"pid": ...}
  /__probe/frame                 sets its own X-Frame-Options: DENY (and the other
                                 security headers), as Django's middleware does
  /__probe/ws                    WebSocket echo (ASGI and tornado apps)
  /__probe/cookie                sets the cookie COOKIE_NAME through the framework's own
                                 set_cookie, Secure exactly when the framework says the
                                 request is secure (Flask, Django, FastAPI apps)
  /__probe/task?ms=N[&id=ID]     send a Celery task that sleeps N ms in a worker, wait
                                 for its result (Flask and Django apps of a stack
                                 with `tasks:`); ID: the task id to send it under
  /__probe/task-state?id=ID      that task's state (PENDING, STARTED, SUCCESS…)

This module holds the pure parts (payload shapes, query parsing, WSGI/ASGI environ
views) so the JSON is byte-identical across apps. Standard library only; it must
import on any Python 3.7+ because the CGI probe runs under whatever `python3` the
gateway finds first.
"""

import hashlib
import json
import os
import tempfile
import threading
import time
from http.client import responses as _REASONS
from urllib.parse import parse_qs, unquote_to_bytes

PROBE_PREFIX = "/__probe/"
COUNTER_ENV = "STACKGEN_PROBE_COUNTER"
# app.writable, absolute, os.pathsep-separated: /__probe/pid says whether each is writable.
WRITABLE_ENV = "STACKGEN_PROBE_WRITABLE"
JSON_TYPE = "application/json"
STREAM_TYPE = "text/plain; charset=utf-8"
STREAM_HEADERS = (("Cache-Control", "no-store"),)
# Only with ?accel=1 does a stream ask the proxy not to buffer it (X-Accel-Buffering: no),
# as a sync WSGI app behind a buffering nginx must. Without it a stream arrives incrementally
# only where the generated proxy config itself does not buffer: an ASGI or tornado app, or a
# path listed in proxy.unbuffered. The probe proves that, not the app's opt-out.
ACCEL_HEADER = ("X-Accel-Buffering", "no")
# The stream probe answers below any prefix too (/events/__probe/stream), so verify can
# stream through each proxy.unbuffered location the proxy renders.
STREAM_SUFFIX = "/__probe/stream"

# The meta-variables a proxy is responsible for. HTTP_PROXY must be null behind a
# correct proxy: a client "Proxy:" header becoming HTTP_PROXY is httpoxy (CVE-2016-5385).
ENVIRON_KEYS = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "REMOTE_ADDR",
    "SERVER_PROTOCOL",
    "HTTP_PROXY",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "CONTENT_LENGTH",
    "HTTP_TRANSFER_ENCODING",
)

# What /__probe/frame sets itself, as a real app does (Django's XFrameOptionsMiddleware sends
# X-Frame-Options: DENY): a proxy that adds its own defaults must not send a second value.
APP_SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)

# Bounds keep a typo in a probe URL from pinning a worker for an hour.
LIMITS = {
    "ms": (0, 60000),
    "chunks": (1, 1000),
    "interval_ms": (0, 10000),
    "code": (200, 599),
    "accel": (0, 1),
}
DEFAULTS = {"ms": 100, "chunks": 3, "interval_ms": 100, "code": 200, "accel": 0}


class ProbeError(Exception):
    """A malformed probe request: answered with 400 and {"error": message}."""

    status = 400


# --- routing and parameters -------------------------------------------------------


def is_probe_path(path):
    """True for paths the probe handles itself (below /__probe/, or .../__probe/stream)."""
    return path.startswith(PROBE_PREFIX) or path.endswith(STREAM_SUFFIX)


def probe_name(path):
    """'slow' for '/__probe/slow', 'stream' for '/events/__probe/stream'; '' for other paths."""
    if path.startswith(PROBE_PREFIX):
        return path[len(PROBE_PREFIX):]
    return "stream" if path.endswith(STREAM_SUFFIX) else ""


def stream_headers(query):
    """Headers of a /__probe/stream answer: X-Accel-Buffering: no only when ?accel=1."""
    return list(STREAM_HEADERS) + ([ACCEL_HEADER] if query_int(query, "accel") else [])


def query_int(query, name):
    """Integer parameter `name` of a raw query string, defaulted and range-checked."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    values = parse_qs(query).get(name)
    if not values:
        return DEFAULTS[name]
    try:
        value = int(values[0])
    except ValueError:
        raise ProbeError("%s must be an integer, got %r" % (name, values[0]))
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise ProbeError("%s must be between %d and %d, got %d" % (name, low, high, value))
    return value


TASK_ID_CHARS = set("0123456789abcdefABCDEF-")


def query_task_id(query):
    """The `id` parameter (a task id: hex digits and dashes, as a UUID), or None."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    values = parse_qs(query).get("id")
    if not values:
        return None
    value = values[0]
    if not 0 < len(value) <= 64 or not set(value) <= TASK_ID_CHARS:
        raise ProbeError("id must be a task id (hex digits and -), got %r" % value)
    return value


# --- the request counter ----------------------------------------------------------


def record_request(path):
    """Append one byte to $STACKGEN_PROBE_COUNTER for every request but /__probe/count.

    O_APPEND makes each write land at the end of the file atomically, so worker
    processes that share nothing else still count into one file."""
    target = os.environ.get(COUNTER_ENV)
    if not target or path == PROBE_PREFIX + "count":
        return
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)


def count_payload():
    """{"count": requests recorded so far}; null when no counter file is configured."""
    target = os.environ.get(COUNTER_ENV)
    if not target:
        return {"count": None}
    try:
        return {"count": os.stat(target).st_size}
    except FileNotFoundError:
        return {"count": 0}


# --- payloads ---------------------------------------------------------------------


def to_json(payload):
    """The one JSON encoding every probe app answers with."""
    return (json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def pid_payload():
    """The worker process: pid, who it runs as, and where it may write.

    On a real host the unit's hardening decides what is writable (ProtectSystem=strict
    leaves the runtime directory and a private /tmp); an app that must write elsewhere
    (a SQLite file, uploads) fails there, so the probe reports it."""
    counter = os.environ.get(COUNTER_ENV)
    return {
        "pid": os.getpid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cwd": os.getcwd(),
        "writable": {
            "cwd": _can_write(os.getcwd()),
            "tmp": _can_write(tempfile.gettempdir()),
            "counter_dir": _can_write(os.path.dirname(counter)) if counter else None,
            "dirs": {d: _can_write(d) for d in os.environ.get(WRITABLE_ENV, "").split(os.pathsep) if d},
        },
    }


def _can_write(directory):
    """True when a file can be created (and removed) in `directory`."""
    try:
        fd, path = tempfile.mkstemp(prefix=".stackgen-probe-", dir=directory)
    except OSError:
        return False
    os.close(fd)
    os.unlink(path)
    return True


# /__probe/cookie: the cookie an app marks for https only when its framework sees https.
COOKIE_NAME = "stackgen_probe"
COOKIE_VALUE = "secure-if-https"


def cookie_payload(secure, scheme):
    """What /__probe/cookie answers: whether the framework saw a secure request, and its scheme."""
    return {"cookie": COOKIE_NAME, "secure_request": bool(secure), "scheme": scheme}


def frame_payload():
    """What /__probe/frame answers (its headers are APP_SECURITY_HEADERS)."""
    return {"headers": dict(APP_SECURITY_HEADERS)}


def slow_payload(ms, start, end):
    """What /__probe/slow answers after sleeping from `start` to `end` (epoch seconds)."""
    return {"pid": os.getpid(), "thread": threading.get_ident(), "ms": ms, "start": start, "end": end}


def task_payload(ms, start, end):
    """What the probe's Celery task returns, computed in the worker that ran it."""
    return {"pid": os.getpid(), "ms": ms, "start": start, "end": end}


# How long past the task's own duration the web app waits for its result: enough for a
# worker that is still connecting to the broker, short of the proxy's read timeout.
TASK_WAIT_SECONDS = 20


def run_task(task, ms, task_id=None):
    """Send `task` (a Celery task taking ms) from this web process and wait for its result.

    Returns (payload, status): 200 with the worker's answer and this process's pid (a task
    that ran in the web process itself would carry the same pid); 504 when no result came
    (the task was lost, e.g. a worker killed mid-task); 502 when sending or running failed.
    """
    sent = time.time()
    try:
        result = task.apply_async((ms,), task_id=task_id)
    except Exception as error:  # the broker refused or is unreachable
        return {"error": "sending the task failed: %s: %s" % (type(error).__name__, error)}, 502
    try:
        value = result.get(timeout=ms / 1000 + TASK_WAIT_SECONDS)
    except Exception as error:
        timed_out = type(error).__name__ == "TimeoutError"
        return {
            "error": "%s: %s" % (type(error).__name__, error),
            "task_id": result.id,
            "waited_ms": round((time.time() - sent) * 1000),
        }, (504 if timed_out else 502)
    return {
        "web_pid": os.getpid(),
        "task_id": result.id,
        "waited_ms": round((time.time() - sent) * 1000),
        "result": value,
    }, 200


def task_state_payload(task, task_id):
    """A task's state in the result backend: STARTED once a worker runs it (task_track_started)."""
    return {"task_id": task_id, "state": task.AsyncResult(task_id).state}


def stream_line(index):
    """One streamed chunk: the line carries the time it was produced."""
    return ("chunk %d %.6f\n" % (index, time.time())).encode("ascii")


def reason_phrase(code):
    return _REASONS.get(code, "Unknown")


def status_line(code):
    """'404 Not Found' — the WSGI status string for `code`."""
    return "%d %s" % (code, reason_phrase(code))


def status_allows_body(code):
    # RFC 9110 §6.4.1: 1xx, 204 and 304 responses never carry content.
    return not (code < 200 or code in (204, 304))


def status_payload(code):
    return {"status": code}


def error_payload(message):
    return {"error": message}


def unknown_probe_payload(path):
    return error_payload("unknown probe %s" % path)


def body_digest(body):
    """(sha256 hex, length) of the request body bytes."""
    return hashlib.sha256(body).hexdigest(), len(body)


def echo_payload(
    app,
    interface,
    method,
    path,
    script_name,
    query,
    headers,
    body,
    remote_addr,
    scheme,
    host,
    server_port,
    multiprocess,
    multithread,
    environ,
    absolute_url=None,
):
    """The echo answer. Every app builds it here so the shape cannot drift.

    `absolute_url`: an absolute URL the framework itself built for /stackgen-absolute
    (Django's build_absolute_uri, Flask's url_for(_external=True)); None for the others."""
    sha, length = body_digest(body)
    return {
        "app": app,
        "interface": interface,
        "method": method,
        "path": path,
        "script_name": script_name,
        "query": query,
        "headers": headers,
        "body_sha256": sha,
        "body_length": length,
        "remote_addr": remote_addr,
        "scheme": scheme,
        "host": host,
        "server_port": _port(server_port),
        "multiprocess": multiprocess,
        "multithread": multithread,
        "pid": os.getpid(),
        "environ": {key: environ.get(key) for key in ENVIRON_KEYS},
        "absolute_url": absolute_url,
    }


def _port(value):
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def decode_path_bytes(raw):
    """UTF-8 when the bytes are UTF-8, else latin-1 (which never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def unquote_path(path):
    """Percent-decode a raw request path (tornado keeps it encoded) the WSGI way."""
    return decode_path_bytes(unquote_to_bytes(path))


# --- WSGI (PEP 3333) --------------------------------------------------------------


def wsgi_path(environ):
    """PATH_INFO as text.

    PEP 3333: environ strings are "native strings" holding the raw bytes decoded as
    latin-1; re-encode them and decode as UTF-8 so /café round-trips."""
    return _wsgi_text(environ.get("PATH_INFO", ""))


def _wsgi_text(native):
    try:
        return decode_path_bytes(native.encode("latin-1"))
    except UnicodeEncodeError:  # not a PEP 3333 native string: already text
        return native


def wsgi_headers(environ):
    """Request headers from HTTP_* and the two CGI-named ones, lower-cased names."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def read_wsgi_body(environ):
    """The request body per PEP 3333.

    Read exactly CONTENT_LENGTH bytes; without one, read to EOF only when the server
    sets wsgi.input_terminated (it de-chunked the upload and will end the stream),
    because reading an unterminated wsgi.input past its end may block forever."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return _read_exactly(stream, int(length))
    if environ.get("wsgi.input_terminated"):
        return _read_to_eof(stream)
    return b""


def _read_exactly(stream, length):
    parts = []
    remaining = length
    while remaining > 0:
        part = stream.read(min(remaining, 65536))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _read_to_eof(stream):
    parts = []
    while True:
        part = stream.read(65536)
        if not part:
            return b"".join(parts)
        parts.append(part)


def wsgi_host(environ):
    return environ.get("HTTP_HOST") or environ.get("SERVER_NAME")


def wsgi_echo(app, environ, body, interface="wsgi", remote_addr=None, absolute_url=None):
    """Echo payload for a WSGI environ (also used by CGI, whose env has the same names).

    `remote_addr`: the client address as the framework's own API reports it (Flask's
    request.remote_addr); REMOTE_ADDR when the app passes none."""
    is_wsgi = interface == "wsgi"
    return echo_payload(
        app=app,
        interface=interface,
        method=environ.get("REQUEST_METHOD"),
        path=wsgi_path(environ),
        script_name=_wsgi_text(environ.get("SCRIPT_NAME", "")),
        query=environ.get("QUERY_STRING", ""),
        headers=wsgi_headers(environ),
        body=body,
        remote_addr=remote_addr if remote_addr is not None else environ.get("REMOTE_ADDR"),
        scheme=environ.get("wsgi.url_scheme") or _cgi_scheme(environ),
        host=wsgi_host(environ),
        server_port=environ.get("SERVER_PORT"),
        multiprocess=bool(environ.get("wsgi.multiprocess")) if is_wsgi else None,
        multithread=bool(environ.get("wsgi.multithread")) if is_wsgi else None,
        environ=environ,
        absolute_url=absolute_url,
    )


def _cgi_scheme(environ):
    # RFC 3875 has no scheme variable; REQUEST_SCHEME (nginx, Apache) or HTTPS=on say it.
    if environ.get("REQUEST_SCHEME"):
        return environ["REQUEST_SCHEME"]
    return "https" if environ.get("HTTPS", "").lower() in ("on", "1") else "http"


# --- ASGI -------------------------------------------------------------------------


def asgi_headers(scope):
    """Scope headers (latin-1 byte pairs) as a dict; repeated names joined by ', '."""
    headers = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = headers[name] + ", " + value if name in headers else value
    return headers


def asgi_environ(scope):
    """The WSGI-named view of an ASGI scope, so the environ block is comparable."""
    headers = asgi_headers(scope)
    client = scope.get("client")
    return {
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope.get("path"),
        "REMOTE_ADDR": client[0] if client else None,
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "HTTP_PROXY": headers.get("proxy"),
        "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for"),
        "HTTP_X_FORWARDED_PROTO": headers.get("x-forwarded-proto"),
        "CONTENT_LENGTH": headers.get("content-length"),
        "HTTP_TRANSFER_ENCODING": headers.get("transfer-encoding"),
    }


def asgi_echo(app, scope, body):
    """Echo payload for an ASGI HTTP scope."""
    headers = asgi_headers(scope)
    client = scope.get("client")
    server = scope.get("server")
    return echo_payload(
        app=app,
        interface="asgi",
        method=scope.get("method"),
        path=scope.get("path"),
        script_name=scope.get("root_path", ""),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        remote_addr=client[0] if client else None,
        scheme=scope.get("scheme", "http"),
        host=headers.get("host") or (server[0] if server else None),
        server_port=server[1] if server and len(server) > 1 else None,
        multiprocess=None,
        multithread=None,
        environ=asgi_environ(scope),
    )


async def asgi_read_body(receive):
    """All http.request messages of one request, joined."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def asgi_websocket_echo(scope, receive, send):
    """Raw ASGI WebSocket echo: text stays text, bytes stay bytes."""
    record_request(scope.get("path", ""))
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return


async def asgi_lifespan(receive, send):
    """Acknowledge lifespan startup/shutdown; the probe has nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
