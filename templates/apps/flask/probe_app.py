"""stackgen probe app: Flask (WSGI). Entry: probe_app:app.

Also served by tornado's WSGIContainer for the flask-under-tornado topology."""

import time

import probe_contract as pc
from flask import Flask, Response, request, url_for

try:
    from celery import Celery, Task
except ImportError:  # a stack without `tasks:` needs no Celery
    Celery = None

APP = "flask"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# No static route: /static/... must reach the echo, so a proxy that fails to serve
# static files itself is caught by /__probe/count instead of hidden by Flask.
app = Flask(__name__, static_folder=None)
# Werkzeug would redirect /a//b to /a/b; the echo must show the path it was given.
app.url_map.merge_slashes = False
app.url_map.strict_slashes = False



def celery_init_app(flask_app):
    """Flask's "Background Tasks with Celery" pattern: a Celery app whose tasks run inside the
    Flask app's context. Broker and result backend come from CELERY_BROKER_URL and
    CELERY_RESULT_BACKEND, which stackgen writes into the web app's and the workers' units."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(flask_app.name, task_cls=FlaskTask)
    # STARTED in the result backend once a worker runs a task: /__probe/task-state shows it.
    celery_app.conf.task_track_started = True
    celery_app.set_default()
    flask_app.extensions["celery"] = celery_app
    return celery_app


# tasks.app of a probe stack: probe_app:celery.
celery = celery_init_app(app) if Celery is not None else None

if celery is not None:

    @celery.task(name="stackgen_probe.slow")
    def slow_task(ms):
        start = time.time()
        time.sleep(ms / 1000)
        return pc.task_payload(ms, start, time.time())


@app.before_request
def _count():
    pc.record_request(pc.wsgi_path(request.environ))


@app.errorhandler(pc.ProbeError)
def _probe_error(error):
    return _json(pc.error_payload(str(error)), error.status)


@app.route("/__probe/slow")
def slow():
    ms = pc.query_int(request.query_string, "ms")
    start = time.time()
    time.sleep(ms / 1000)  # the sync model's sleep; gevent's when monkey-patched
    return _json(pc.slow_payload(ms, start, time.time()))


@app.route("/__probe/task")
def task():
    if celery is None:
        return _json(pc.error_payload("celery is not installed"), 501)
    query = request.query_string
    payload, code = pc.run_task(slow_task, pc.query_int(query, "ms"), pc.query_task_id(query))
    return _json(payload, code)


@app.route("/__probe/task-state")
def task_state():
    if celery is None:
        return _json(pc.error_payload("celery is not installed"), 501)
    return _json(pc.task_state_payload(slow_task, pc.query_task_id(request.query_string)))


@app.route("/__probe/stream")
def stream():
    chunks = pc.query_int(request.query_string, "chunks")
    interval_ms = pc.query_int(request.query_string, "interval_ms")

    def generate():
        for index in range(chunks):
            if index:
                time.sleep(interval_ms / 1000)
            yield pc.stream_line(index)

    return Response(generate(), content_type=pc.STREAM_TYPE, headers=dict(pc.stream_headers(request.query_string)))


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
        response.headers[name] = value
    return response


@app.route("/__probe/cookie")
def cookie():
    # Secure exactly when Flask says the request is secure (request.is_secure: wsgi.url_scheme,
    # which the server sets from the front's HTTPS variable or X-Forwarded-Proto): an app that
    # marks its cookies for https only through Flask's own API. Behind TLS that says https
    # only if the stack told the app so.
    response = _json(pc.cookie_payload(request.is_secure, request.scheme))
    response.set_cookie(pc.COOKIE_NAME, pc.COOKIE_VALUE, secure=request.is_secure, httponly=True, samesite="Lax")
    return response


@app.route("/__probe/status", methods=METHODS)
def status():
    code = pc.query_int(request.query_string, "code")
    if not pc.status_allows_body(code):
        return Response(b"", status=pc.status_line(code))
    return _json(pc.status_payload(code), code)


@app.route("/", defaults={"path": ""}, methods=METHODS)
@app.route("/<path:path>", methods=METHODS)
def echo(path):
    if pc.probe_name(pc.wsgi_path(request.environ)) == "stream":
        return stream()  # below a prefix: /events/__probe/stream
    if pc.is_probe_path(pc.wsgi_path(request.environ)):
        return _json(pc.unknown_probe_payload(request.path), 404)
    # The body as Flask hands it to a view (Werkzeug's get_data()), so a body the framework
    # loses on this stack (e.g. a chunked upload next to HTTP_TRANSFER_ENCODING) fails the
    # probe as it would fail the user's app.
    body = request.get_data()
    # The client address as a Flask view reads it (request.remote_addr).
    # An absolute URL as a Flask app builds one (url_for(_external=True): e-mail links, OAuth
    # redirects), from the scheme the server put in wsgi.url_scheme.
    absolute = url_for("echo", path="stackgen-absolute", _external=True)
    return _json(pc.wsgi_echo(APP, request.environ, body, remote_addr=request.remote_addr, absolute_url=absolute))


def _json(payload, code=200):
    return Response(
        pc.to_json(payload),
        status=pc.status_line(code),
        content_type=pc.JSON_TYPE,
        headers={"Cache-Control": "no-store"},
    )
