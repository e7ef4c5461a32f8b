"""stackgen probe app: Starlette (ASGI). Entry: probe_app:app."""

import asyncio
import time

import probe_contract as pc
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

APP = "starlette"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _json(payload, code=200):
    return Response(
        pc.to_json(payload), status_code=code, media_type=pc.JSON_TYPE, headers={"Cache-Control": "no-store"}
    )


async def _probe_error(request, error):
    return _json(pc.error_payload(str(error)), error.status)


async def echo(request):
    if pc.probe_name(request.scope["path"]) == "stream":
        return await stream(request)  # below a prefix: /events/__probe/stream
    pc.record_request(request.scope["path"])
    if pc.is_probe_path(request.scope["path"]):
        return _json(pc.unknown_probe_payload(request.scope["path"]), 404)
    return _json(pc.asgi_echo(APP, request.scope, await request.body()))


async def slow(request):
    pc.record_request(request.scope["path"])
    ms = pc.query_int(request.scope["query_string"], "ms")
    start = time.time()
    await asyncio.sleep(ms / 1000)  # the event loop's sleep: other requests run meanwhile
    return _json(pc.slow_payload(ms, start, time.time()))


async def stream(request):
    pc.record_request(request.scope["path"])
    chunks = pc.query_int(request.scope["query_string"], "chunks")
    interval_ms = pc.query_int(request.scope["query_string"], "interval_ms")

    async def generate():
        for index in range(chunks):
            if index:
                await asyncio.sleep(interval_ms / 1000)
            yield pc.stream_line(index)

    return StreamingResponse(generate(), media_type=pc.STREAM_TYPE, headers=dict(pc.stream_headers(request.scope["query_string"])))


async def count(request):
    return _json(pc.count_payload())


async def pid(request):
    pc.record_request(request.scope["path"])
    return _json(pc.pid_payload())


async def frame(request):
    pc.record_request(request.scope["path"])
    response = _json(pc.frame_payload())
    response.headers.update(dict(pc.APP_SECURITY_HEADERS))
    return response


async def status(request):
    pc.record_request(request.scope["path"])
    code = pc.query_int(request.scope["query_string"], "code")
    if not pc.status_allows_body(code):
        return Response(b"", status_code=code)
    return _json(pc.status_payload(code), code)


async def websocket_echo(websocket):
    pc.record_request(websocket.scope["path"])
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message.get("bytes") or b"")


app = Starlette(
    routes=[
        Route("/__probe/slow", slow),
        Route("/__probe/stream", stream),
        Route("/__probe/count", count),
        Route("/__probe/pid", pid),
        Route("/__probe/frame", frame),
        Route("/__probe/status", status, methods=METHODS),
        WebSocketRoute("/__probe/ws", websocket_echo),
        Route("/{path:path}", echo, methods=METHODS),
    ],
    exception_handlers={pc.ProbeError: _probe_error},
)
