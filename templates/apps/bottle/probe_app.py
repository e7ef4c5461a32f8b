"""stackgen probe app: Bottle (WSGI). Entry: probe_app:app."""

import time

import bottle
import probe_contract as pc

APP = "bottle"

app = bottle.Bottle()


def _environ():
    """The WSGI environ as the server passed it.

    Bottle 0.12 rewrites PATH_INFO to decoded UTF-8 in place and keeps the server's
    value in bottle.raw_path; the echo reports the server's value like every WSGI app."""
    environ = dict(bottle.request.environ)
    environ["PATH_INFO"] = environ.get("bottle.raw_path", environ.get("PATH_INFO", ""))
    return environ


@app.hook("before_request")
def _count():
    pc.record_request(pc.wsgi_path(_environ()))


def _probe(handler):
    """Map ProbeError to a 400 JSON answer (Bottle's error pages are HTML)."""

    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except pc.ProbeError as error:
            return _json(pc.error_payload(str(error)), error.status)

    return wrapper


@app.route("/__probe/slow")
@_probe
def slow():
    ms = pc.query_int(bottle.request.query_string, "ms")
    start = time.time()
    time.sleep(ms / 1000)  # the sync model's sleep; gevent's when monkey-patched
    return _json(pc.slow_payload(ms, start, time.time()))


@app.route("/__probe/stream")
@_probe
def stream():
    chunks = pc.query_int(bottle.request.query_string, "chunks")
    interval_ms = pc.query_int(bottle.request.query_string, "interval_ms")
    bottle.response.content_type = pc.STREAM_TYPE
    for name, value in pc.stream_headers(bottle.request.query_string):
        bottle.response.set_header(name, value)

    def generate():
        for index in range(chunks):
            if index:
                time.sleep(interval_ms / 1000)
            yield pc.stream_line(index)

    return generate()


@app.route("/__probe/count")
def count():
    return _json(pc.count_payload())


@app.route("/__probe/pid")
def pid():
    return _json(pc.pid_payload())


@app.route("/__probe/frame")
def frame():
    response = _json(pc.frame_payload())
    for name, value in pc.APP_SECURITY_HEADERS:
        response.set_header(name, value)
    return response


@app.route("/__probe/status", method="ANY")
@_probe
def status():
    code = pc.query_int(bottle.request.query_string, "code")
    if not pc.status_allows_body(code):
        return bottle.HTTPResponse(b"", status=pc.status_line(code))
    return _json(pc.status_payload(code), code)


@app.route("/", method="ANY")
@app.route("/<path:path>", method="ANY")
def echo(path=""):
    environ = _environ()
    if pc.probe_name(pc.wsgi_path(environ)) == "stream":
        return stream()  # below a prefix: /events/__probe/stream
    if pc.is_probe_path(pc.wsgi_path(environ)):
        return _json(pc.unknown_probe_payload(pc.wsgi_path(environ)), 404)
    # The body as Bottle hands it to a route (request.body), so a body the framework
    # loses on this stack fails the probe as it would fail the user's app.
    return _json(pc.wsgi_echo(APP, environ, bottle.request.body.read()))


def _json(payload, code=200):
    return bottle.HTTPResponse(
        pc.to_json(payload),
        status=pc.status_line(code),
        headers={"Content-Type": pc.JSON_TYPE, "Cache-Control": "no-store"},
    )
