"""A small FastAPI app used by the stackgen examples."""
from fastapi import FastAPI, Request, WebSocket

app = FastAPI()


@app.get("/")
async def index(request: Request):
    return {"hello": "fastapi", "scheme": request.url.scheme}


@app.websocket("/ws")
async def echo(ws: WebSocket):
    await ws.accept()
    async for message in ws.iter_text():
        await ws.send_text(message)
