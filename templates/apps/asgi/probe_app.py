"""stackgen probe app: plain ASGI 3, no framework. Entry: probe_app:app."""

import asyncio
import time

import probe_contract as pc

APP = "asgi"


async def app(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        await _http(scope, receive, send)
    elif kind == "websocket":
        if scope["path"] == pc.PROBE_PREFIX + "ws":
            await pc.asgi_websocket_echo(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: 403
    elif kind == "lifespan":
        await pc.asgi_lifespan(receive, send)


async def _http(scope, receive, send):
    path = scope["path"]
    pc.record_request(path)
    try:
        await _dispatch(scope, receive, send, path)
    except pc.ProbeError as error:
        await _json(send, pc.error_payload(str(error)), error.status)


async def _dispatch(scope, receive, send, path):
    if not pc.is_probe_path(path):
        body = await pc.asgi_read_body(receive)
        await _json(send, pc.asgi_echo(APP, scope, body))
        return
    name = pc.probe_name(path)
    query = scope.get("query_string", b"")
    if name == "slow":
        ms = pc.query_int(query, "ms")
        start = time.time()
        await asyncio.sleep(ms / 1000)  # the event loop's sleep: other requests run meanwhile
        await _json(send, pc.slow_payload(ms, start, time.time()))
    elif name == "stream":
        chunks, interval_ms = pc.query_int(query, "chunks"), pc.query_int(query, "interval_ms")
        await send(_start(200, pc.STREAM_TYPE, extra=pc.stream_headers(query)))
        for index in range(chunks):
            if index:
                await asyncio.sleep(interval_ms / 1000)
            await send({"type": "http.response.body", "body": pc.stream_line(index), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif name == "count":
        await _json(send, pc.count_payload())
    elif name == "pid":
        await _json(send, pc.pid_payload())
    elif name == "frame":
        await _json(send, pc.frame_payload(), extra=pc.APP_SECURITY_HEADERS)
    elif name == "status":
        code = pc.query_int(query, "code")
        if pc.status_allows_body(code):
            await _json(send, pc.status_payload(code), code)
        else:
            await send({"type": "http.response.start", "status": code, "headers": []})
            await send({"type": "http.response.body", "body": b""})
    else:
        await _json(send, pc.unknown_probe_payload(path), 404)


def _start(code, content_type, length=None, extra=()):
    headers = [(b"content-type", content_type.encode("latin-1")), (b"cache-control", b"no-store")]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra if k != "Cache-Control"]
    if length is not None:
        headers.append((b"content-length", str(length).encode("ascii")))
    return {"type": "http.response.start", "status": code, "headers": headers}


async def _json(send, payload, code=200, extra=()):
    body = pc.to_json(payload)
    await send(_start(code, pc.JSON_TYPE, len(body), extra=extra))
    await send({"type": "http.response.body", "body": body})
