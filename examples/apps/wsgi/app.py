"""A plain WSGI app: standard library only."""
import json


def application(environ, start_response):
    body = json.dumps(
        {"hello": "wsgi", "path": environ.get("PATH_INFO", ""), "scheme": environ["wsgi.url_scheme"]}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
