// The errors a transport rejects with (see transport.ts): one constructor per failure kind, so
// the message, the hint and `details.sentAnything` (may the core retry elsewhere?) are worded
// once for every protocol.

import { StackgenError } from '../../errors.js';
import type { UpstreamAddress, UpstreamTarget } from '../transport.js';

/** `uwsgi://127.0.0.1:3031`, `fastcgi://unix:/run/app.sock`, `cgi:/srv/cgi-bin/x.py`. */
export function describeTarget(target: UpstreamTarget): string {
  return `${target.scheme}:${describeAddress(target.address)}`;
}

function describeAddress(address: UpstreamAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `//${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    case 'unix':
      return `//unix:${address.path}`;
    case 'script':
      return address.path;
  }
}

export interface FailureFacts {
  target: UpstreamTarget;
  sentAnything: boolean;
  cause?: unknown;
  /** Extra structured facts (stderr tail, exit code...). */
  details?: Record<string, unknown>;
}

function details(facts: FailureFacts): Record<string, unknown> {
  return { target: describeTarget(facts.target), sentAnything: facts.sentAnything, ...facts.details };
}

function errnoOf(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Connection refused, socket file missing, permission denied... (502, safe to retry). */
export function connectFailure(facts: FailureFacts): StackgenError {
  const errno = errnoOf(facts.cause);
  const where = describeTarget(facts.target);
  const hint =
    errno === 'ENOENT'
      ? 'The unix socket file does not exist: is the app server running, and is the path right?'
      : errno === 'EACCES'
        ? 'The gateway may not open the unix socket: check its owner and mode (chmod-socket in uWSGI).'
        : 'Is the app server running and listening on this address?';
  return new StackgenError(
    'SG_ERR_UPSTREAM_CONNECT',
    `Cannot connect to ${where}${errno ? ` (${errno})` : ''}.`,
    { hint, cause: facts.cause, details: details(facts) },
  );
}

/** The backend closed (or reset) the connection before a complete response head (502). */
export function resetFailure(
  facts: FailureFacts & { advice?: string | undefined; what?: string },
): StackgenError {
  const errno = errnoOf(facts.cause);
  const what = facts.what ?? 'closed the connection before a complete response';
  return new StackgenError(
    'SG_ERR_UPSTREAM_RESET',
    `${describeTarget(facts.target)} ${what}${errno ? ` (${errno})` : ''}.${facts.advice ? ` ${facts.advice}` : ''}`,
    {
      hint: 'Look at the app server log for a crash or a refused request.',
      cause: facts.cause,
      details: details(facts),
    },
  );
}

/** No answer in time: `phase` says which timeout fired (504). */
export function timeoutFailure(
  facts: FailureFacts & { phase: 'connect' | 'send' | 'read'; ms: number },
): StackgenError {
  const doing = { connect: 'connect', send: 'accept the request', read: 'answer' }[facts.phase];
  return new StackgenError(
    'SG_ERR_UPSTREAM_TIMEOUT',
    `${describeTarget(facts.target)} did not ${doing} within ${facts.ms} ms (${facts.phase} timeout).`,
    {
      hint: 'The app is slow or all its workers are busy: add workers, or raise the gateway timeout.',
      details: { ...details(facts), phase: facts.phase, timeoutMs: facts.ms },
    },
  );
}

/** The request was cancelled (client gone or the front's own deadline): the transport stopped. */
export function abortedFailure(facts: FailureFacts): StackgenError {
  return new StackgenError(
    'SG_ERR_CLIENT_ABORTED',
    `Request to ${describeTarget(facts.target)} cancelled: the client went away.`,
    { cause: facts.cause, details: details(facts) },
  );
}

/** Attach `sentAnything` and the target to a codec error (which knows neither). */
export function withFacts(err: unknown, facts: FailureFacts): StackgenError {
  if (err instanceof StackgenError) {
    return new StackgenError(err.code, err.message, {
      hint: err.hint,
      cause: err,
      details: { ...err.details, ...details(facts) },
    });
  }
  return new StackgenError('SG_ERR_INTERNAL', `Transport bug: ${String(err)}`, {
    cause: err,
    details: details(facts),
  });
}

/** The backend's answer cannot be a response (no output, truncated head...) (502). */
export function malformedFailure(facts: FailureFacts & { what: string }): StackgenError {
  return new StackgenError('SG_ERR_UPSTREAM_MALFORMED', `${describeTarget(facts.target)} ${facts.what}.`, {
    hint: "Look at the app's error output: it probably crashed or printed nothing.",
    cause: facts.cause,
    details: details(facts),
  });
}
