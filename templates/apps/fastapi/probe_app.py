"""stackgen probe app: FastAPI (ASGI). Entry: probe_app:app."""

import asyncio
import time

import probe_contract as pc
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response, StreamingResponse

APP = "fastapi"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# No docs routes: /docs and /openapi.json must reach the echo like any other path.
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def _json(payload, code=200):
    return Response(
        pc.to_json(payload), status_code=code, media_type=pc.JSON_TYPE, headers={"Cache-Control": "no-store"}
    )


@app.exception_handler(pc.ProbeError)
async def _probe_error(request: Request, error: pc.ProbeError):
    return _json(pc.error_payload(str(error)), error.status)


@app.get("/__probe/slow")
async def slow(request: Request):
    pc.record_request(request.scope["path"])
    ms = pc.query_int(request.scope["query_string"], "ms")
    start = time.time()
    await asyncio.sleep(ms / 1000)  # the event loop's sleep: other requests run meanwhile
    return _json(pc.slow_payload(ms, start, time.time()))


@app.get("/__probe/stream")
async def stream(request: Request):
    pc.record_request(request.scope["path"])
    chunks = pc.query_int(request.scope["query_string"], "chunks")
    interval_ms = pc.query_int(request.scope["query_string"], "interval_ms")

    async def generate():
        for index in range(chunks):
            if index:
                await asyncio.sleep(interval_ms / 1000)
            yield pc.stream_line(index)

    return StreamingResponse(generate(), media_type=pc.STREAM_TYPE, headers=dict(pc.stream_headers(request.scope["query_string"])))


@app.get("/__probe/count")
async def count():
    return _json(pc.count_payload())


@app.get("/__probe/pid")
async def pid(request: Request):
    pc.record_request(request.scope["path"])
    return _json(pc.pid_payload())


@app.get("/__probe/frame")
async def frame(request: Request):
    pc.record_request(request.scope["path"])
    response = _json(pc.frame_payload())
    response.headers.update(dict(pc.APP_SECURITY_HEADERS))
    return response


@app.get("/__probe/cookie")
async def cookie(request: Request):
    pc.record_request(request.scope["path"])
    # Secure exactly when the request's scheme is https as Starlette reports it (request.url:
    # the ASGI scope's scheme, which uvicorn/hypercorn set from the front's X-Forwarded-Proto),
    # set through Starlette's own Response.set_cookie.
    secure = request.url.scheme == "https"
    response = _json(pc.cookie_payload(secure, request.url.scheme))
    response.set_cookie(pc.COOKIE_NAME, pc.COOKIE_VALUE, secure=secure, httponly=True, samesite="lax")
    return response


@app.api_route("/__probe/status", methods=METHODS)
async def status(request: Request):
    pc.record_request(request.scope["path"])
    code = pc.query_int(request.scope["query_string"], "code")
    if not pc.status_allows_body(code):
        return Response(b"", status_code=code)
    return _json(pc.status_payload(code), code)


@app.websocket("/__probe/ws")
async def websocket_echo(websocket: WebSocket):
    pc.record_request(websocket.scope["path"])
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message.get("bytes") or b"")
    except WebSocketDisconnect:
        return


@app.api_route("/{path:path}", methods=METHODS)
async def echo(request: Request):
    if pc.probe_name(request.scope["path"]) == "stream":
        return await stream(request)  # below a prefix: /events/__probe/stream
    pc.record_request(request.scope["path"])
    if pc.is_probe_path(request.scope["path"]):
        return _json(pc.unknown_probe_payload(request.scope["path"]), 404)
    return _json(pc.asgi_echo(APP, request.scope, await request.body()))
