#!/usr/bin/env bash
# Installs the Debian packages stackgen's full test suite runs for real: nginx, uWSGI and
# its python3/gevent plugins, gunicorn, uvicorn, hypercorn, daphne, the frameworks the examples use,
# supervisor, fcgiwrap (CGI behind nginx), wrk (benchmarks), systemd (systemd-analyze, and
# PID 1 of the throwaway machines `verify --target machine` boots; util-linux gives them
# unshare/nsenter; bsdutils gives `script`, the pseudo-terminal init's questions are tested
# through), openssl (the throwaway CA of the TLS tests), the third-party apps of the
# conformance suite: httpbin, Mercurial (hgweb and the hg client) and Radicale, and the real
# CGI/FastCGI programs the gateway is tested against: cgit (a C CGI program; git builds its
# test repository) and php-fpm — also the app server of the php examples, whose entry
# `stackgen check` lints with php8.2 (php8.2-cli); lighttpd (proxy.kind lighttpd); Apache httpd
# (apache2, proxy.kind apache; libapache2-mod-wsgi-py3 for its in-server WSGI choice); Celery with Redis for `tasks:`
# (python3-celery, python3-redis; redis-server's binary runs as the stack's own broker);
# certbot (proxy.tls.acme's client) and pebble (the local ACME test server, with
# pebble-challtestsrv, that verify issues from on both targets). Needs root.
set -euo pipefail
packages=(
  nginx-light
  uwsgi-core uwsgi-plugin-python3 uwsgi-plugin-gevent-python3
  gunicorn uvicorn python3-hypercorn daphne python3-websockets
  python3-flask python3-django python3-bottle python3-tornado
  python3-starlette python3-fastapi python3-waitress python3-gevent
  supervisor fcgiwrap wrk
  systemd util-linux bsdutils
  openssl
  python3-httpbin mercurial radicale
  cgit git php8.2-fpm php8.2-cli
  lighttpd
  apache2 libapache2-mod-wsgi-py3
  python3-celery python3-redis redis-server
  certbot pebble
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts nginx, supervisor, php-fpm and redis-server as services on install; the tests
# run their own (a `tasks:` stack runs its own Redis on a unix socket, never Debian's service).
# certbot only enables certbot.timer (no certificate: its `certbot renew` does nothing); the
# throwaway machines inherit it enabled, as a server with Debian's certbot has it.
(service nginx stop || true) >/dev/null 2>&1
(service supervisor stop || true) >/dev/null 2>&1
(service php8.2-fpm stop || true) >/dev/null 2>&1
# Debian's lighttpd.service takes port 80 on install; a lighttpd stack runs its own unit.
(service lighttpd stop || true) >/dev/null 2>&1
# Debian's apache2.service takes port 80 on install as well; verify runs its own apache2 in the
# sandbox, and the throwaway machine unmasks Debian's service only for an Apache stack.
(service apache2 stop || true) >/dev/null 2>&1
(service redis-server stop || true) >/dev/null 2>&1
echo "system packages ready: ${packages[*]}"
