"""Serve a tornado Application, or a WSGI app through tornado.wsgi.WSGIContainer.

tornado has no server command of its own, so stackgen ships this runner:

  python3 tornado_serve.py --app probe_app:make_app --host 127.0.0.1 --port 8000
  python3 tornado_serve.py --wsgi probe_app:app --unix-socket /run/app.sock --processes 2

--app names a callable returning a tornado.web.Application; --wsgi names a WSGI
callable, which WSGIContainer runs on the IOLoop thread (one request at a time per
process: that is the documented cost of serving WSGI from tornado).

With --processes N > 1 the listening socket is bound once and N children are
forked; the parent forwards SIGTERM/SIGINT to them and exits when they are gone, so
a process manager that signals only the main PID still stops every worker.
Readiness: one line "tornado_serve: listening on <address> (pid <pid>)" on stderr
per process.
"""

import argparse
import asyncio
import importlib
import os
import signal
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.wsgi

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--app", help="module:callable returning a tornado.web.Application")
    target.add_argument("--wsgi", help="module:callable, a WSGI application")
    parser.add_argument("--app-dir", default=".", help="directory put first on sys.path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--unix-socket", help="listen on this unix socket instead of TCP")
    parser.add_argument("--socket-mode", type=lambda text: int(text, 8), default=0o660)
    parser.add_argument("--processes", type=int, default=1, help="worker processes; 0 = one per core")
    parser.add_argument("--xheaders", action="store_true", help="trust X-Real-Ip/X-Forwarded-For/-Proto")
    parser.add_argument("--backlog", type=int, default=128)
    return parser.parse_args(argv)


def load(reference):
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise SystemExit("tornado_serve: expected module:attribute, got %r" % reference)
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def build_application(args, target):
    if args.app:
        application = target()
        if not isinstance(application, tornado.web.Application):
            raise SystemExit("tornado_serve: %s did not return a tornado.web.Application" % args.app)
        return application
    container = tornado.wsgi.WSGIContainer(target)
    return tornado.web.Application([(r".*", tornado.web.FallbackHandler, {"fallback": container})])


def bind(args):
    if args.unix_socket:
        sock = tornado.netutil.bind_unix_socket(args.unix_socket, mode=args.socket_mode, backlog=args.backlog)
        return [sock], "unix:" + args.unix_socket
    sockets = tornado.netutil.bind_sockets(args.port, address=args.host, backlog=args.backlog)
    return sockets, "%s:%d" % (args.host, args.port)


async def serve(application, sockets, address, xheaders):
    server = tornado.httpserver.HTTPServer(application, xheaders=xheaders)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    print("tornado_serve: listening on %s (pid %d)" % (address, os.getpid()), file=sys.stderr, flush=True)
    await stop.wait()
    # Stop accepting, then let open connections finish their current request.
    server.stop()
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=10)
    except asyncio.TimeoutError:
        pass


def fork_workers(count):
    """Fork `count` children; in the parent, supervise them and exit. Returns in children."""
    children = set()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            return
        children.add(pid)

    def forward(signum, _frame):
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    status = 0
    while children:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        if code != 0 and status == 0:
            # A worker died on its own: take the rest down so the manager restarts us whole.
            status = 1
            forward(signal.SIGTERM, None)
    sys.exit(status)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.app_dir))
    # Import before forking so a broken module fails once, in the parent.
    target = load(args.app or args.wsgi)
    sockets, address = bind(args)
    processes = args.processes or os.cpu_count() or 1
    if processes > 1:
        fork_workers(processes)
    # The application is built after the fork so each worker has its own state.
    asyncio.run(serve(build_application(args, target), sockets, address, args.xheaders))


if __name__ == "__main__":
    main()
