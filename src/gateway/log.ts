// Gateway logging: one access-log line per request (stdout, a file, or off) and error
// lines on stderr. Access lines are batched into one write per tick-ish interval: a write
// syscall per request costs more than the rest of a proxied hello-world.

import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { AccessLogTarget } from './config.js';

/** What transports and the proxy core log through (errors and warnings go to stderr). */
export interface GatewayLogger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

export interface AccessEntry {
  remote: string;
  method: string;
  /** The raw request path and query, as received. */
  target: string;
  status: number;
  bytes: number;
  /** Milliseconds spent waiting for the backend's response head; null for static/local answers. */
  upstreamMs: number | null;
  /** The backend that answered (`uwsgi://unix:/run/app.sock`), or null. */
  upstream: string | null;
}

// Every byte a client chose is escaped as \xHH when it could end the line or a field, or fool
// a terminal: controls (CR/LF would start a forged line), DEL and non-ASCII, the quote and
// backslash (nginx's access-log escaping), and the space (one field per item here). The
// method too: an unparseable request's "method" is whatever bytes came first.
const UNSAFE_LOG_CHARS = /[\x00-\x20"\\\x7f-\uffff]/g;

/** A client-supplied field for the access log, escaped as nginx escapes (pure). */
export function escapeLogField(text: string): string {
  return text.replace(UNSAFE_LOG_CHARS, (c) => {
    const code = c.charCodeAt(0);
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    let out = '';
    for (const byte of Buffer.from(c, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    return out;
  });
}

/** One access-log line (pure): time, client, "METHOD target", status, bytes, upstream ms, upstream. */
export function formatAccessLine(e: AccessEntry, now: Date): string {
  return `${now.toISOString()} ${escapeLogField(e.remote)} "${escapeLogField(e.method)} ${escapeLogField(e.target)}" ${e.status} ${e.bytes} ${
    e.upstreamMs === null ? '-' : e.upstreamMs.toFixed(1)
  } ${e.upstream ?? '-'}\n`;
}

export interface AccessLog {
  /** False for `access_log: off`, so callers skip building entries nobody reads. */
  readonly enabled: boolean;
  write(entry: AccessEntry): void;
  /** Flush buffered lines and close a log file. */
  close(): Promise<void>;
}

const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 100;

/** Open the access log described by the config. */
export function openAccessLog(target: AccessLogTarget): AccessLog {
  if (target.kind === 'off') return { enabled: false, write() {}, close: async () => {} };
  const out: Writable =
    target.kind === 'stdout' ? process.stdout : createWriteStream(target.path, { flags: 'a', mode: 0o640 });
  if (target.kind === 'file')
    out.on('error', (err) =>
      process.stderr.write(`stackgen gateway: access log ${target.path}: ${err.message}\n`),
    );
  let pending = '';
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending === '') return;
    out.write(pending);
    pending = '';
  };
  return {
    enabled: true,
    write(entry) {
      pending += formatAccessLine(entry, new Date());
      if (pending.length >= FLUSH_BYTES) flush();
      else if (timer === null) timer = setTimeout(flush, FLUSH_MS).unref();
    },
    close() {
      flush();
      if (target.kind === 'stdout') return Promise.resolve();
      return new Promise((resolve) => out.end(resolve));
    },
  };
}

/** The stderr logger: one line per event, prefixed so it is greppable among app logs. */
export function createStderrLogger(prefix = 'stackgen gateway'): GatewayLogger {
  const line = (level: string, message: string) =>
    process.stderr.write(`${new Date().toISOString()} ${prefix} ${level}: ${message}\n`);
  return {
    error: (m) => line('error', m),
    warn: (m) => line('warn', m),
    info: (m) => line('info', m),
  };
}
