// The errors a transport rejects with (see transport.ts): one constructor per failure kind
// (imported as a namespace: `failure.connect(facts)`, `failure.timeout(…)`), so
// the message, the hint and `sentAnything` (may the core retry elsewhere?) are worded once for
// every protocol. Every message starts with the target's one name (targetName), so a log line
// names it once: `upstream uwsgi://unix:/run/app.sock: cannot connect (ENOENT).`

import { StackgenError, UpstreamError } from '../../errors.js';
import { targetName, type UpstreamTarget } from '../transport.js';

export interface FailureFacts {
  target: UpstreamTarget;
  sentAnything: boolean;
  cause?: unknown;
  /** Extra structured facts (stderr tail, exit code...). */
  details?: Record<string, unknown>;
}

type Code = ConstructorParameters<typeof UpstreamError>[0];

function failure(code: Code, facts: FailureFacts, what: string, hint?: string): UpstreamError {
  const target = targetName(facts.target);
  return new UpstreamError(code, `upstream ${target}: ${what}`, {
    hint,
    cause: facts.cause,
    details: { target, ...facts.details },
    sentAnything: facts.sentAnything,
    target,
  });
}

function errnoOf(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const withErrno = (cause: unknown) => {
  const errno = errnoOf(cause);
  return errno ? ` (${errno})` : '';
};

/** Connection refused, socket file missing, permission denied, script not runnable... (502). */
export function connect(facts: FailureFacts): UpstreamError {
  const errno = errnoOf(facts.cause);
  const hint =
    errno === 'ENOENT'
      ? 'The unix socket file does not exist: is the app server running, and is the path right?'
      : errno === 'EACCES'
        ? 'The gateway may not open the unix socket: check its owner and mode (chmod-socket in uWSGI).'
        : 'Is the app server running and listening on this address?';
  return failure('SG_ERR_UPSTREAM_CONNECT', facts, `cannot connect${withErrno(facts.cause)}.`, hint);
}

/** The backend closed (or reset) the connection before a complete response head (502). */
export function reset(facts: FailureFacts & { advice?: string | undefined; what?: string }): UpstreamError {
  const what = facts.what ?? 'closed the connection before a complete response';
  return failure(
    'SG_ERR_UPSTREAM_RESET',
    facts,
    `${what}${withErrno(facts.cause)}.${facts.advice ? ` ${facts.advice}` : ''}`,
    'Look at the app server log for a crash or a refused request.',
  );
}

/** No answer in time: `phase` says which timeout fired (504). */
export function timeout(
  facts: FailureFacts & { phase: 'connect' | 'send' | 'read'; ms: number },
): UpstreamError {
  const doing = { connect: 'connect', send: 'accept the request', read: 'answer' }[facts.phase];
  return failure(
    'SG_ERR_UPSTREAM_TIMEOUT',
    { ...facts, details: { ...facts.details, phase: facts.phase, timeoutMs: facts.ms } },
    `did not ${doing} within ${facts.ms} ms (${facts.phase} timeout).`,
    'The app is slow or all its workers are busy: add workers, or raise the gateway timeout.',
  );
}

/** The request was cancelled (client gone or the front's own deadline): the transport stopped. */
export function aborted(facts: FailureFacts): UpstreamError {
  return failure('SG_ERR_CLIENT_ABORTED', facts, 'request cancelled: the client went away.');
}

/** The backend's answer cannot be a response (no output, truncated head...) (502). */
export function malformed(facts: FailureFacts & { what: string }): UpstreamError {
  return failure(
    'SG_ERR_UPSTREAM_MALFORMED',
    facts,
    `${facts.what}.`,
    "Look at the app's error output: it probably crashed or printed nothing.",
  );
}

/** Attach the target and `sentAnything` to a codec error (which knows neither). */
export function withFacts(err: unknown, facts: FailureFacts): UpstreamError {
  if (err instanceof StackgenError) {
    return failure(
      err.code,
      { ...facts, cause: err, details: { ...err.details, ...facts.details } },
      err.message,
      err.hint,
    );
  }
  return failure('SG_ERR_INTERNAL', { ...facts, cause: err }, `transport bug: ${String(err)}`);
}
