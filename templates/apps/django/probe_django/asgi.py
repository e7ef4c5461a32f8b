"""stackgen probe app: Django under ASGI. Entry: probe_django.asgi:application.

Django 3.2 serves only the ASGI "http" scope, so this module routes the other two
scope types itself, as channels' ProtocolTypeRouter would: "lifespan" is
acknowledged and the /__probe/ws WebSocket echo is the shared raw-ASGI one."""

import os

import probe_contract as pc
from django.core.asgi import get_asgi_application

# Forced, not setdefault: the async URL table is what makes /__probe/slow prove the
# event loop; a leftover DJANGO_SETTINGS_MODULE from the WSGI config must not win.
os.environ["DJANGO_SETTINGS_MODULE"] = "probe_django.settings_asgi"

django_application = get_asgi_application()


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "lifespan":
        await pc.asgi_lifespan(receive, send)
    elif kind == "websocket":
        if scope["path"] == pc.PROBE_PREFIX + "ws":
            await pc.asgi_websocket_echo(scope, receive, send)
        else:
            # Closing before accepting rejects the handshake (403 from the server).
            await receive()
            await send({"type": "websocket.close", "code": 1008})
    else:
        await django_application(scope, receive, send)
