// The one catalogue of stackgen errors. Every error a user can see has a stable code,
// a message saying what went wrong and where, and a hint saying what to do next.
// Only src/main.ts turns an error into an exit code (see EXIT_CODES and the README).

/** Exit codes: each means one thing. Documented in the README ("Exit codes"). */
export const EXIT_CODES = {
  ok: 0,
  checksFailed: 1,
  usage: 2,
  notReady: 3,
  userFileChanged: 4,
  missingTool: 5,
  installFailed: 6,
  unavailable: 7,
  workflowFailed: 8,
  internal: 70,
  invalidSpec: 78,
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;

interface ErrorDefinition {
  /** What the code means, for the README and `stackgen --help`. */
  readonly description: string;
  readonly exit: ExitCodeName;
  /** The HTTP status the gateway answers when a request ends with this error (statusFor). */
  readonly status?: number;
}

export const ERROR_CATALOGUE = {
  SG_ERR_USAGE: { description: 'The command line is wrong (unknown flag, missing argument).', exit: 'usage' },
  SG_ERR_SPEC_NOT_FOUND: {
    description: 'The stack.yaml file does not exist or cannot be read.',
    exit: 'usage',
  },
  SG_ERR_SPEC_SYNTAX: { description: 'stack.yaml is not valid YAML.', exit: 'invalidSpec' },
  SG_ERR_SPEC_INVALID: {
    description: 'stack.yaml has an unknown key, a bad value or an impossible combination.',
    exit: 'invalidSpec',
  },
  SG_ERR_SPEC_DEV_SERVER: {
    description:
      'stack.yaml names a development server (runserver, flask run, a --reload command) for production.',
    exit: 'invalidSpec',
  },
  SG_ERR_TEMPLATE: { description: 'A template failed to render (a stackgen bug).', exit: 'internal' },
  SG_ERR_USER_EDITED: {
    description: 'A generated file was edited by hand; render refuses to overwrite it without --force.',
    exit: 'userFileChanged',
  },
  SG_ERR_WRITE: { description: 'Writing the generated files failed.', exit: 'internal' },
  SG_ERR_TOOL_MISSING: {
    description: 'A system program the command needs is not installed.',
    exit: 'missingTool',
  },
  SG_ERR_CHECK_FAILED: { description: 'A real tool rejected a generated file.', exit: 'checksFailed' },
  SG_ERR_GATEWAY_CONFIG: { description: 'The gateway configuration is invalid.', exit: 'invalidSpec' },
  SG_ERR_GATEWAY_LISTEN: { description: 'The gateway could not listen on its address.', exit: 'notReady' },
  SG_ERR_GATEWAY_TLS: {
    description: 'The gateway cannot use its TLS certificate or key (unreadable, not PEM, or not a pair).',
    exit: 'invalidSpec',
  },
  SG_ERR_UPSTREAM_CONNECT: {
    description: 'The gateway could not connect to a backend (502).',
    exit: 'internal',
    status: 502,
  },
  SG_ERR_UPSTREAM_RESET: {
    description: 'A backend closed the connection before a full response (502).',
    exit: 'internal',
    status: 502,
  },
  SG_ERR_UPSTREAM_TIMEOUT: {
    description: 'A backend did not answer in time (504).',
    exit: 'internal',
    status: 504,
  },
  SG_ERR_UPSTREAM_MALFORMED: {
    description: 'A backend sent a malformed response (502).',
    exit: 'internal',
    status: 502,
  },
  SG_ERR_UPSTREAM_REQUEST_TOO_LARGE: {
    description: 'The request cannot be encoded for the backend (e.g. uwsgi vars over 64 KiB) (500).',
    exit: 'internal',
    status: 500,
  },
  SG_ERR_CLIENT_BAD_REQUEST: {
    description: 'The gateway refused a malformed or ambiguous client request (400).',
    exit: 'internal',
    status: 400,
  },
  SG_ERR_CLIENT_HEADER_TOO_LARGE: {
    description: 'A request head is larger than the gateway max_header limit (431).',
    exit: 'internal',
    status: 431,
  },
  SG_ERR_CLIENT_NOT_IMPLEMENTED: {
    description: 'A request uses a transfer coding the gateway does not implement (501).',
    exit: 'internal',
    status: 501,
  },
  SG_ERR_CLIENT_HTTP_VERSION: {
    description: 'A request names an HTTP version other than 1.0 and 1.1 (505).',
    exit: 'internal',
    status: 505,
  },
  SG_ERR_CLIENT_BODY_TOO_LARGE: {
    description: 'A request body is larger than the gateway max_body limit (413).',
    exit: 'internal',
    status: 413,
  },
  SG_ERR_CLIENT_TIMEOUT: {
    description: 'A client was too slow to send its request head or body (408).',
    exit: 'internal',
    status: 408,
  },
  SG_ERR_CLIENT_ABORTED: {
    description: 'A client closed its connection before the request was complete.',
    exit: 'internal',
  },
  SG_ERR_UPSTREAM_REJECTED: {
    description:
      'A backend refused the request before running it (FastCGI OVERLOADED, UNKNOWN_ROLE, CANT_MPX_CONN) (502).',
    exit: 'internal',
    status: 502,
  },
  SG_ERR_CODEC: {
    description: 'Bytes on the wire do not follow the protocol (502).',
    exit: 'internal',
    status: 502,
  },
  SG_ERR_COMPONENT_NOT_READY: {
    description: 'A component of the stack never became ready during verify.',
    exit: 'notReady',
  },
  SG_ERR_PROBE_FAILED: { description: 'A verify probe failed.', exit: 'checksFailed' },
  SG_ERR_INTERRUPTED: { description: 'The command was interrupted (SIGINT/SIGTERM).', exit: 'checksFailed' },
  SG_ERR_INSTALL_FAILED: {
    description: '`stackgen install`/`uninstall` failed at a step; what that run did was rolled back.',
    exit: 'installFailed',
  },
  SG_ERR_ENV_FILE: {
    description:
      'app.env_file is missing, unreadable, not owned by root, readable by group or others, or has lines systemd and the supervisor wrapper would read differently; `stackgen install` changed nothing.',
    exit: 'installFailed',
  },
  SG_ERR_TLS_FILES: {
    description:
      "proxy.tls's certificate or key is missing, unreadable, not a pair, expired, or the key is readable by group or others; `stackgen install` changed nothing.",
    exit: 'installFailed',
  },
  SG_ERR_NOT_INSTALLED: {
    description: '`stackgen uninstall` found no record of an install of this stack.',
    exit: 'installFailed',
  },
  SG_ERR_NEEDS_ROOT: {
    description: 'The command changes the system (users, /etc, services) and must run as root.',
    exit: 'unavailable',
  },
  SG_ERR_MACHINE_UNAVAILABLE: {
    description:
      '`verify --target machine` cannot boot a throwaway machine here (needs root, overlayfs, systemd, unshare/nsenter).',
    exit: 'unavailable',
  },
  SG_ERR_CI_STEP_FAILED: {
    description:
      '`stackgen ci --check`: a step of the generated workflow failed on the throwaway machine (its name, exit code and output tail are printed), or the workflow has a step --check cannot run.',
    exit: 'workflowFailed',
  },
  SG_ERR_INTERNAL: { description: 'A bug in stackgen.', exit: 'internal' },
} as const satisfies Record<string, ErrorDefinition>;

const CATALOGUE: Readonly<Record<string, ErrorDefinition>> = ERROR_CATALOGUE;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface StackgenErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Extra structured facts (file, line, component, log tail) for reports. */
  details?: Record<string, unknown> | undefined;
}

/** A user-facing error: stable code, message (what and where), hint (what to do). */
export class StackgenError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: StackgenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StackgenError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[ERROR_CATALOGUE[this.code].exit];
  }
}

/** True when `err` is a StackgenError with the given code (or any code when omitted). */
export function isStackgenError(err: unknown, code?: ErrorCode): err is StackgenError {
  return err instanceof StackgenError && (code === undefined || err.code === code);
}

/**
 * The HTTP status the gateway answers for `err`: its code's catalogue status; 502 for anything
 * else that ends a proxied request (a backend failure without a name of its own, as nginx).
 */
export function statusFor(err: unknown): number {
  return (isStackgenError(err) ? CATALOGUE[err.code]?.status : undefined) ?? 502;
}

export interface UpstreamErrorOptions extends StackgenErrorOptions {
  /**
   * Some of the request reached the backend (or its process started). False means the backend
   * cannot have acted on it, so the proxy core may try another backend (caddy's DialError).
   */
  sentAnything: boolean;
  /** The backend it names (`uwsgi://unix:/run/app.sock`); the message then starts with it. */
  target?: string | undefined;
}

/** A failure of one exchange with a backend (connect, send, read, encode), with what a retry needs. */
export class UpstreamError extends StackgenError {
  readonly sentAnything: boolean;
  readonly target: string | undefined;

  constructor(code: ErrorCode, message: string, options: UpstreamErrorOptions) {
    super(code, message, options);
    this.name = 'UpstreamError';
    this.sentAnything = options.sentAnything;
    this.target = options.target;
  }
}
