"""stackgen probe app: native tornado. Entry: probe_app:make_app (returns the Application)."""

import asyncio
import time

import probe_contract as pc
import tornado.web
import tornado.websocket

APP = "tornado"


def _path(request):
    # tornado keeps request.path percent-encoded; the contract reports it decoded.
    return pc.unquote_path(request.path)


class ProbeHandler(tornado.web.RequestHandler):
    """Counts every request and answers JSON with the shared encoding."""

    def prepare(self):
        pc.record_request(_path(self.request))

    def set_default_headers(self):
        self.set_header("Cache-Control", "no-store")

    def send_json(self, payload, code=200):
        self.set_status(code, pc.reason_phrase(code))
        self.set_header("Content-Type", pc.JSON_TYPE)
        self.finish(pc.to_json(payload))

    def query_int(self, name):
        return pc.query_int(self.request.query, name)

    def write_error(self, status_code, **kwargs):
        # A ProbeError arrives here as a 500; answer the contract's 400 instead.
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, pc.ProbeError):
            self.send_json(pc.error_payload(str(error)), error.status)
        else:
            self.send_json(pc.error_payload(self._reason), status_code)

    def log_exception(self, typ, value, tb):
        if not isinstance(value, pc.ProbeError):
            super().log_exception(typ, value, tb)


class EchoHandler(ProbeHandler):
    def _echo(self, *args):
        request = self.request
        path = _path(request)
        if pc.is_probe_path(path):
            self.send_json(pc.unknown_probe_payload(path), 404)
            return
        headers = {}
        for name, value in request.headers.get_all():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value
        environ = {
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "REMOTE_ADDR": request.remote_ip,
            "SERVER_PROTOCOL": request.version,
            "HTTP_PROXY": headers.get("proxy"),
            "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for"),
            "HTTP_X_FORWARDED_PROTO": headers.get("x-forwarded-proto"),
            "CONTENT_LENGTH": headers.get("content-length"),
            "HTTP_TRANSFER_ENCODING": headers.get("transfer-encoding"),
        }
        self.send_json(
            pc.echo_payload(
                app=APP,
                interface="tornado",
                method=request.method,
                path=path,
                script_name="",
                query=request.query,
                headers=headers,
                body=request.body,
                remote_addr=request.remote_ip,
                scheme=request.protocol,
                host=request.host,
                server_port=_server_port(request),
                multiprocess=None,
                multithread=None,
                environ=environ,
            )
        )

    get = head = post = put = patch = delete = options = _echo


def _server_port(request):
    try:
        address = request.connection.stream.socket.getsockname()
    except (AttributeError, OSError):
        return None
    return address[1] if isinstance(address, tuple) else None


class SlowHandler(ProbeHandler):
    async def get(self):
        ms = self.query_int("ms")
        start = time.time()
        await asyncio.sleep(ms / 1000)  # the IOLoop's sleep: other requests run meanwhile
        self.send_json(pc.slow_payload(ms, start, time.time()))


class StreamHandler(ProbeHandler):
    async def get(self):
        chunks, interval_ms = self.query_int("chunks"), self.query_int("interval_ms")
        self.set_header("Content-Type", pc.STREAM_TYPE)
        for name, value in pc.stream_headers(self.request.query):
            self.set_header(name, value)
        for index in range(chunks):
            if index:
                await asyncio.sleep(interval_ms / 1000)
            self.write(pc.stream_line(index))
            await self.flush()  # without flush tornado buffers the whole body
        self.finish()


class CountHandler(ProbeHandler):
    def get(self):
        self.send_json(pc.count_payload())


class PidHandler(ProbeHandler):
    def get(self):
        self.send_json(pc.pid_payload())


class FrameHandler(ProbeHandler):
    def get(self):
        for name, value in pc.APP_SECURITY_HEADERS:
            self.set_header(name, value)
        self.send_json(pc.frame_payload())


class StatusHandler(ProbeHandler):
    def _status(self):
        code = self.query_int("code")
        if pc.status_allows_body(code):
            self.send_json(pc.status_payload(code), code)
        else:
            self.set_status(code, pc.reason_phrase(code))
            self.clear_header("Content-Type")
            self.finish()

    get = head = post = put = patch = delete = options = _status


class WebSocketEcho(tornado.websocket.WebSocketHandler):
    def prepare(self):
        pc.record_request(_path(self.request))

    def check_origin(self, origin):
        # The probe is reached through proxies under test, on any host name.
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


def make_app(**settings):
    """The probe Application; keyword arguments become tornado Application settings."""
    return tornado.web.Application(
        [
            (r"/__probe/slow", SlowHandler),
            (r"/__probe/stream", StreamHandler),
            # Below any prefix too (/events/__probe/stream): the proxy.unbuffered locations.
            (r"/.*/__probe/stream", StreamHandler),
            (r"/__probe/count", CountHandler),
            (r"/__probe/pid", PidHandler),
            (r"/__probe/frame", FrameHandler),
            (r"/__probe/status", StatusHandler),
            (r"/__probe/ws", WebSocketEcho),
            (r"/.*", EchoHandler),
        ],
        **settings,
    )
