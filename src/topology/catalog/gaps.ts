// The documented gaps of servers and bridges, as data: what a correct stack of that shape
// does NOT do, and why. src/probes/behaviour.ts matches them against a plan, so a probe
// judges against the model (a gap is never an `if` inside a probe). A new server's gaps
// are entries here.

import type { ProbeFramework } from '../../probes/contract.js';

export interface Gap {
  when: {
    server?: string;
    interface?: string;
    proxy?: string;
    /** The wire protocol from the proxy to the app server. */
    protocol?: string;
    /** The program between proxy and CGI script (fcgiwrap). */
    bridge?: string;
    probeApp?: ProbeFramework;
  };
  buffersStream?: boolean;
  dropsChunkedBody?: boolean;
  /** The front refuses a chunked upload itself with this status (411 Length Required) instead of passing it on. */
  refusesChunkedBody?: number;
  /** One request at a time per process. */
  serial?: boolean;
  /** A stop ends the requests in flight (no graceful stop exists for this server). */
  abortsOnStop?: boolean;
  why: string;
}

/** Documented limits of servers and frameworks (see test/integration/probe-apps.test.ts; matched in src/probes/behaviour.ts). */
export const KNOWN_GAPS: Gap[] = [
  {
    when: { bridge: 'fcgiwrap' },
    abortsOnStop: true,
    why: 'fcgiwrap has no graceful stop: its main process exits on SIGTERM and the CGI scripts still running are killed with it (the client gets a 502)',
  },
  {
    when: { bridge: 'fcgiwrap' },
    buffersStream: true,
    why: "fcgiwrap passes a CGI script's output through libfcgi's 8 KiB stream buffer and flushes it only when full or at exit (gnosek/fcgiwrap#36): a slow stream arrives in one piece",
  },
  {
    when: { server: 'tornado', interface: 'wsgi' },
    buffersStream: true,
    serial: true,
    why: "tornado's WSGIContainer runs the WSGI app on the IOLoop thread: one request at a time per process, and the whole response buffered",
  },
  {
    when: { server: 'tornado', interface: 'wsgi', proxy: 'none' },
    dropsChunkedBody: true,
    why: "tornado's WSGIContainer passes no body for a chunked upload (behind nginx the proxy de-chunks it)",
  },
  {
    when: { server: 'gunicorn', proxy: 'none', probeApp: 'django' },
    dropsChunkedBody: true,
    why: "Django 3.2's request.body reads CONTENT_LENGTH bytes only, and gunicorn facing clients passes none for a chunked upload (behind a proxy the proxy de-chunks it and sends the length)",
  },
  {
    when: { server: 'gunicorn', proxy: 'none', probeApp: 'bottle' },
    dropsChunkedBody: true,
    why: 'gunicorn facing clients de-chunks an upload but keeps HTTP_TRANSFER_ENCODING, and Bottle 0.12 de-chunks it again: 400 (behind a proxy the proxy sends the length alone)',
  },
  {
    // Measured by verify --target machine's graceful-stop on Debian's 2.0.21: the journal shows
    // the workers finishing ("worker 1 buried after 3 seconds") after the client's connection
    // was gone (SIGPIPE writing the answer).
    when: { server: 'uwsgi', proxy: 'none' },
    abortsOnStop: true,
    why: "uWSGI's graceful stop (gracefully_kill_them_all) lets the workers finish their requests but kills its http router at once: facing clients with no proxy, the requests in flight lose their connection (a proxy in front keeps them: it waits for the worker's answer)",
  },
  {
    when: { server: 'uwsgi', proxy: 'none' },
    dropsChunkedBody: true,
    why: 'uWSGI facing clients directly passes no CONTENT_LENGTH for a chunked upload (behind a proxy the proxy de-chunks it)',
  },
  {
    // templates/apache/site.conf.hbs refuses every request with a Transfer-Encoding. Seen on
    // Debian's 2.4.71: a proxied chunked body is never counted against LimitRequestBody
    // (20 MiB passed a 100 kB limit over mod_proxy_http with proxy-sendcl); mod_proxy_uwsgi
    // answers 411 itself (REQUEST_CHUNKED_ERROR); mod_proxy_fcgi passes the body on without
    // CONTENT_LENGTH, and php-fpm read none.
    when: { proxy: 'apache' },
    dropsChunkedBody: true,
    refusesChunkedBody: 411,
    why: 'Apache refuses a chunked (Content-Length-less) upload with 411 Length Required: Apache 2.4 bounds no proxied chunked body by LimitRequestBody (proxy.max_body would not hold), and mod_proxy_uwsgi and mod_proxy_fcgi cannot pass one on with a length; nginx and the gateway de-chunk it, count it and send its length',
  },
];
