#!/usr/bin/env python3
"""stackgen probe app: CGI/1.1 script (RFC 3875), standard library only. Entry: probe.cgi.

Run once per request by a gateway (stackgen's cgi transport, or fcgiwrap behind nginx):
meta-variables in the environment, the body on stdin, the response on stdout.
probe_contract.py sits next to this file; Python puts the script's directory on
sys.path, so no PYTHONPATH is needed (a CGI environment does not carry one).
"""

import os
import sys
import time

import probe_contract as pc

APP = "cgi"


def meta_variables():
    """The CGI environment as PEP 3333 native strings (raw bytes decoded as latin-1).

    Python decodes os.environ with the locale's codec and surrogateescape; going back
    through bytes gives the same text a WSGI server would pass, so the shared helpers
    decode PATH_INFO the same way for every interface (wsgiref's read_environ does this)."""
    encoding = sys.getfilesystemencoding()
    return {key: value.encode(encoding, "surrogateescape").decode("latin-1") for key, value in os.environ.items()}


def read_body(environ):
    # RFC 3875 §4.2: the script MUST check CONTENT_LENGTH and read no more than that;
    # a server that accepts a chunked upload must de-chunk it and set CONTENT_LENGTH.
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        return b""
    stdin = sys.stdin.buffer
    parts = []
    remaining = int(length)
    while remaining > 0:
        part = stdin.read(min(remaining, 65536))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def respond(code, content_type, body=b"", extra=()):
    """Write a CGI response: RFC 3875 §6.3.3 Status header, then headers, blank line, body."""
    out = sys.stdout.buffer
    lines = ["Status: %s" % pc.status_line(code)]
    if content_type:
        lines.append("Content-Type: %s" % content_type)
        lines.append("Content-Length: %d" % len(body))
    lines.extend(extra)
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    out.write(body)
    out.flush()


def respond_json(payload, code=200):
    respond(code, pc.JSON_TYPE, pc.to_json(payload), ["Cache-Control: no-store"])


def dispatch(environ):
    path = pc.wsgi_path(environ)
    pc.record_request(path)
    if not pc.is_probe_path(path):
        respond_json(pc.wsgi_echo(APP, environ, read_body(environ), interface="cgi"))
        return
    name = pc.probe_name(path)
    query = environ.get("QUERY_STRING", "")
    if name == "slow":
        ms = pc.query_int(query, "ms")
        start = time.time()
        time.sleep(ms / 1000)
        respond_json(pc.slow_payload(ms, start, time.time()))
    elif name == "stream":
        chunks, interval_ms = pc.query_int(query, "chunks"), pc.query_int(query, "interval_ms")
        out = sys.stdout.buffer
        # No Content-Length: the gateway streams stdout as it arrives (chunked on HTTP/1.1).
        header = "Status: 200 OK\r\nContent-Type: %s\r\n%s\r\n" % (
            pc.STREAM_TYPE,
            "".join("%s: %s\r\n" % pair for pair in pc.stream_headers(query)),
        )
        out.write(header.encode("latin-1"))
        out.flush()
        for index in range(chunks):
            if index:
                time.sleep(interval_ms / 1000)
            out.write(pc.stream_line(index))
            out.flush()
    elif name == "count":
        respond_json(pc.count_payload())
    elif name == "pid":
        respond_json(pc.pid_payload())
    elif name == "frame":
        extra = ["Cache-Control: no-store"] + ["%s: %s" % pair for pair in pc.APP_SECURITY_HEADERS]
        respond(200, pc.JSON_TYPE, pc.to_json(pc.frame_payload()), extra)
    elif name == "status":
        code = pc.query_int(query, "code")
        if pc.status_allows_body(code):
            respond_json(pc.status_payload(code), code)
        else:
            respond(code, None)
    else:
        respond_json(pc.unknown_probe_payload(path), 404)


def main():
    environ = meta_variables()
    try:
        dispatch(environ)
    except pc.ProbeError as error:
        respond_json(pc.error_payload(str(error)), error.status)


if __name__ == "__main__":
    main()
