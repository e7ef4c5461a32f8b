// The probe contract: what every probe app under templates/apps/ answers, whatever its
// framework. `verify` substitutes a probe app for the user's app and reads these shapes.
// The Python side of the same contract is templates/apps/_common/probe_contract.py;
// a change here is a change there.

/** Frameworks with a probe app, named as stack.yaml names them. */
export type ProbeFramework =
  | 'flask'
  | 'django'
  | 'django-asgi'
  | 'bottle'
  | 'tornado'
  | 'fastapi'
  | 'starlette'
  | 'wsgi'
  | 'asgi'
  | 'cgi'
  | 'php';

/** How the app meets its server: the calling convention, not the transport. */
export type ProbeInterface = 'wsgi' | 'asgi' | 'tornado' | 'cgi' | 'php';

export interface ProbeApp {
  /** Directory of the app, relative to the templates root. */
  dir: string;
  /** What the server loads: `module:callable` (for tornado a factory), or the CGI script's file name. */
  entry: string;
  interface: ProbeInterface;
  /** Whether /__probe/ws is a WebSocket echo. */
  websocket: boolean;
  /** Whether /__probe/cookie sets PROBE_COOKIE_NAME, Secure exactly when the framework sees https. */
  secureCookie: boolean;
  /** Its Celery app (`module:attribute`, what tasks.app becomes); /__probe/task sends its task. Absent: no task endpoint. */
  tasks?: string;
}

/** Shared helpers every app imports; copied next to each app at render time. */
export const PROBE_COMMON_DIR = 'apps/_common';
export const PROBE_COMMON_MODULE = 'probe_contract.py';
/** Runner for tornado apps and for WSGI apps under tornado.wsgi.WSGIContainer (`--app` / `--wsgi`). */
export const TORNADO_RUNNER = 'apps/_runners/tornado_serve.py';

export const PROBE_APPS: Record<ProbeFramework, ProbeApp> = {
  flask: {
    dir: 'apps/flask',
    entry: 'probe_app:app',
    interface: 'wsgi',
    websocket: false,
    secureCookie: true,
    tasks: 'probe_app:celery',
  },
  django: {
    dir: 'apps/django',
    entry: 'probe_django.wsgi:application',
    interface: 'wsgi',
    websocket: false,
    secureCookie: true,
    tasks: 'probe_django.celery:app',
  },
  'django-asgi': {
    dir: 'apps/django',
    entry: 'probe_django.asgi:application',
    interface: 'asgi',
    websocket: true,
    secureCookie: true,
    tasks: 'probe_django.celery:app',
  },
  bottle: {
    dir: 'apps/bottle',
    entry: 'probe_app:app',
    interface: 'wsgi',
    websocket: false,
    secureCookie: false,
  },
  tornado: {
    dir: 'apps/tornado',
    entry: 'probe_app:make_app',
    interface: 'tornado',
    websocket: true,
    secureCookie: false,
  },
  fastapi: {
    dir: 'apps/fastapi',
    entry: 'probe_app:app',
    interface: 'asgi',
    websocket: true,
    secureCookie: true,
  },
  starlette: {
    dir: 'apps/starlette',
    entry: 'probe_app:app',
    interface: 'asgi',
    websocket: true,
    secureCookie: false,
  },
  wsgi: {
    dir: 'apps/wsgi',
    entry: 'probe_app:application',
    interface: 'wsgi',
    websocket: false,
    secureCookie: false,
  },
  asgi: { dir: 'apps/asgi', entry: 'probe_app:app', interface: 'asgi', websocket: true, secureCookie: false },
  cgi: { dir: 'apps/cgi', entry: 'probe.cgi', interface: 'cgi', websocket: false, secureCookie: false },
  // The front controller; info.php (a script reached by name) and hole.txt (PHP code in a
  // text file that must never run) are there for the scripts probe.
  php: { dir: 'apps/php', entry: 'index.php', interface: 'php', websocket: false, secureCookie: false },
};

/**
 * The PHP probe app's fixtures for the scripts probe: a second script reached by name, and a
 * text file with PHP code in it (an "upload") whose marker must never come back executed.
 */
export const PHP_PROBE_FIXTURES = {
  script: '/info.php',
  textFile: '/hole.txt',
  marker: 'STACKGEN-PHP-EXECUTED-A-TEXT-FILE',
} as const;

/** Environment variable naming the file every request appends one byte to. */
export const PROBE_COUNTER_ENV = 'STACKGEN_PROBE_COUNTER';
/** app.writable (absolute, `:`-separated): the probe app reports whether it can write each. */
export const PROBE_WRITABLE_ENV = 'STACKGEN_PROBE_WRITABLE';

/** Paths below this prefix are probes; every other path is echoed. */
export const PROBE_PREFIX = '/__probe/';

/** URL paths (with query) of the probe endpoints. */
export const probePaths = {
  slow: (ms: number) => `${PROBE_PREFIX}slow?ms=${ms}`,
  /**
   * The stream probe, below `prefix` (`/events/` → `/events/__probe/stream`: the apps answer
   * it below any prefix). `accel`: the app sends X-Accel-Buffering: no, opting out of a
   * buffering nginx; without it only the generated proxy config decides.
   */
  stream: (chunks: number, intervalMs: number, opts: { prefix?: string; accel?: boolean } = {}) =>
    `${(opts.prefix ?? '/').replace(/\/$/, '')}${PROBE_PREFIX}stream?chunks=${chunks}&interval_ms=${intervalMs}${opts.accel ? '&accel=1' : ''}`,
  count: () => `${PROBE_PREFIX}count`,
  status: (code: number) => `${PROBE_PREFIX}status?code=${code}`,
  pid: () => `${PROBE_PREFIX}pid`,
  ws: () => `${PROBE_PREFIX}ws`,
  frame: () => `${PROBE_PREFIX}frame`,
  cookie: () => `${PROBE_PREFIX}cookie`,
  task: (ms: number, id?: string) => `${PROBE_PREFIX}task?ms=${ms}${id ? `&id=${id}` : ''}`,
  taskState: (id: string) => `${PROBE_PREFIX}task-state?id=${id}`,
} as const;

/** The cookie /__probe/cookie sets (templates/apps/_common/probe_contract.py COOKIE_NAME). */
export const PROBE_COOKIE_NAME = 'stackgen_probe';

/** /__probe/task-state: the task's state in the result backend (STARTED: a worker runs it). */
export interface TaskStateResponse {
  task_id: string;
  state: string;
}

/** /__probe/task: the web app sent a Celery task and waited for its result (504: none came). */
export interface TaskResponse {
  /** The web process that sent it: a task run in a worker reports another pid. */
  web_pid: number;
  task_id: string;
  waited_ms: number;
  /** What the task returned, computed in the worker process that ran it. */
  result: { pid: number; ms: number; start: number; end: number };
}

/**
 * What /__probe/frame sets itself (Django's clickjacking middleware sends X-Frame-Options:
 * DENY): a front that adds security headers must pass these once, unchanged.
 */
export const APP_SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Frame-Options', 'DENY'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
];

/** /__probe/frame's body: the headers it set. */
export interface FrameResponse {
  headers: Record<string, string>;
}

/** Upper bounds the apps enforce (a larger value is answered with 400 and ProbeErrorResponse). */
export const PROBE_LIMITS = { ms: 60_000, chunks: 1000, intervalMs: 10_000, code: [200, 599] } as const;

/**
 * The meta-variables a proxy is responsible for, as the app saw them (null when absent).
 * WSGI and CGI report the server's PEP 3333 "native string" (raw bytes read as latin-1:
 * "/café" arrives as "/cafÃ©"); ASGI and tornado report text. HTTP_PROXY must be null
 * behind a correct proxy (httpoxy, CVE-2016-5385).
 */
export interface ProbeEnviron {
  SCRIPT_NAME: string | null;
  PATH_INFO: string | null;
  REMOTE_ADDR: string | null;
  SERVER_PROTOCOL: string | null;
  HTTP_PROXY: string | null;
  HTTP_X_FORWARDED_FOR: string | null;
  HTTP_X_FORWARDED_PROTO: string | null;
  CONTENT_LENGTH: string | null;
  /** Must never stand next to CONTENT_LENGTH: a de-chunked body has one framing, not two. */
  HTTP_TRANSFER_ENCODING: string | null;
}

/** Answer to any path not below /__probe/: the request as the application saw it. */
export interface EchoResponse {
  /** The ProbeFramework key of the app that answered. */
  app: ProbeFramework;
  interface: ProbeInterface;
  method: string;
  /** Decoded request path below the mount point (PATH_INFO; UTF-8 when it decodes, else latin-1). */
  path: string;
  script_name: string;
  /** The raw query string, still percent-encoded. */
  query: string;
  /** Lower-cased header names; repeated headers joined as the server or app joins them. */
  headers: Record<string, string>;
  body_sha256: string;
  body_length: number;
  remote_addr: string | null;
  scheme: string;
  host: string | null;
  server_port: number | null;
  /** wsgi.multiprocess / wsgi.multithread; null for asgi, tornado and cgi. */
  multiprocess: boolean | null;
  multithread: boolean | null;
  pid: number;
  environ: ProbeEnviron;
  /** An absolute URL the framework built (Django build_absolute_uri, Flask url_for _external); null for the others. */
  absolute_url?: string | null;
}

/** /__probe/slow: slept from `start` to `end` (epoch seconds) with the concurrency model's sleep. */
export interface SlowResponse {
  pid: number;
  /** threading.get_ident(): a greenlet id under gevent, the loop thread under asyncio. */
  thread: number;
  ms: number;
  start: number;
  end: number;
}

/** /__probe/count: requests served by all workers together (null when no counter file is set). */
export interface CountResponse {
  count: number | null;
}

/** /__probe/pid: the worker that answered, who it runs as and where it can write. */
export interface PidResponse {
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  writable: {
    /** The working directory (the app root). */
    cwd: boolean;
    /** tempfile.gettempdir() (a private /tmp under systemd). */
    tmp: boolean;
    /** The directory of the request counter (the runtime directory on a real host). */
    counter_dir: boolean | null;
    /** Each app.writable directory ($STACKGEN_PROBE_WRITABLE) → can it create a file there. */
    dirs?: Record<string, boolean>;
  };
}

/** /__probe/status?code=N answers N with this body (no body for 204 and 304). */
export interface StatusResponse {
  status: number;
}

/** A malformed probe request (400) or an unknown probe (404). */
export interface ProbeErrorResponse {
  error: string;
}

/** One line of /__probe/stream: `chunk <index> <epoch seconds>`. */
export interface StreamLine {
  index: number;
  at: number;
}

const STREAM_LINE = /^chunk (\d+) (\d+(?:\.\d+)?)$/;

/** Parse one line of a /__probe/stream body (without its newline); null when it breaks the contract. */
export function parseStreamLine(line: string): StreamLine | null {
  const match = STREAM_LINE.exec(line);
  return match ? { index: Number(match[1]), at: Number(match[2]) } : null;
}
