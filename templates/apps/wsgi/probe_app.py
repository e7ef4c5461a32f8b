"""stackgen probe app: plain WSGI (PEP 3333), standard library only. Entry: probe_app:application."""

import time

import probe_contract as pc

APP = "wsgi"


def application(environ, start_response):
    path = pc.wsgi_path(environ)
    pc.record_request(path)
    try:
        return _dispatch(environ, start_response, path)
    except pc.ProbeError as error:
        return _json(start_response, pc.error_payload(str(error)), error.status)


def _dispatch(environ, start_response, path):
    if not pc.is_probe_path(path):
        return _json(start_response, pc.wsgi_echo(APP, environ, pc.read_wsgi_body(environ)))
    name = pc.probe_name(path)
    query = environ.get("QUERY_STRING", "")
    if name == "slow":
        ms = pc.query_int(query, "ms")
        start = time.time()
        time.sleep(ms / 1000)  # the sync model's sleep; gevent's when monkey-patched
        return _json(start_response, pc.slow_payload(ms, start, time.time()))
    if name == "stream":
        chunks, interval_ms = pc.query_int(query, "chunks"), pc.query_int(query, "interval_ms")
        # No Content-Length: the server streams each yielded chunk (chunked on HTTP/1.1).
        start_response("200 OK", [("Content-Type", pc.STREAM_TYPE)] + pc.stream_headers(query))
        return _stream(chunks, interval_ms)
    if name == "count":
        return _json(start_response, pc.count_payload())
    if name == "pid":
        return _json(start_response, pc.pid_payload())
    if name == "frame":
        return _json(start_response, pc.frame_payload(), extra=list(pc.APP_SECURITY_HEADERS))
    if name == "status":
        code = pc.query_int(query, "code")
        if not pc.status_allows_body(code):
            start_response(pc.status_line(code), [])
            return [b""]
        return _json(start_response, pc.status_payload(code), code)
    return _json(start_response, pc.unknown_probe_payload(path), 404)


def _stream(chunks, interval_ms):
    for index in range(chunks):
        if index:
            time.sleep(interval_ms / 1000)
        yield pc.stream_line(index)


def _json(start_response, payload, code=200, extra=()):
    body = pc.to_json(payload)
    start_response(
        pc.status_line(code),
        [("Content-Type", pc.JSON_TYPE), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        + list(extra),
    )
    return [body]
