// The CGI transport (RFC 3875): one process per request. The meta-variables become the
// environment (§4.1), the body goes to stdin (§4.2), stdout carries the response in CGI form
// (§6) — or, for NPH scripts (§5: "nph-" name), a complete raw HTTP response — and stderr goes
// to the logger. A client that goes away, or a script that stalls, gets its process group
// killed: SIGTERM, then SIGKILL after a grace period.

import { type ChildProcess, spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { StackgenError } from '../../errors.js';
import { buildCgiEnv, decodeByteString } from '../cgi-env.js';
import { ResponseHeadDecoder } from '../codecs/cgi-response.js';
import type { Transport, UpstreamTarget } from '../transport.js';
import { writeRequestBody } from './request-body.js';
import { UpstreamBody, responseHasBody, upstreamResponse } from './response-body.js';
import { PhaseTimer, TimerClock } from './phase-timer.js';
import { StderrLog } from './stderr-log.js';
import * as failure from './upstream-failure.js';

export interface CgiTransportOptions {
  /** Extra environment variables for the script (Unicode text); they replace built ones. */
  params?: ReadonlyArray<readonly [string, string]>;
  /** Receives the script's stderr, line by line. */
  logger?: (line: string) => void;
  /** Stderr bytes logged per request at most (default 16 KiB). */
  stderrLimitBytes?: number;
  /** Milliseconds between SIGTERM and SIGKILL when a script must stop (default 1000). */
  killGraceMs?: number;
  /** PATH for the script (default SAFE_SCRIPT_PATH; a target's env may set its own). */
  path?: string;
  maxHeadBytes?: number;
}

/**
 * The PATH a script gets: fixed, never the gateway's own. RFC 3875 §4.1 leaves the rest of the
 * environment to the server; a gateway started from a shell (a root's pyenv or a venv first on
 * PATH) would otherwise decide which `python3` a `#!/usr/bin/env python3` script runs.
 */
export const SAFE_SCRIPT_PATH = '/usr/local/bin:/usr/bin:/bin';

export function createCgiTransport(target: UpstreamTarget, options: CgiTransportOptions = {}): Transport {
  const { address } = target;
  if (address.kind !== 'script') {
    throw new StackgenError(
      'SG_ERR_GATEWAY_CONFIG',
      `A cgi upstream needs a script path, not a ${address.kind} address.`,
    );
  }
  const scriptPath = address.path;
  const interpreter = address.interpreter;
  // RFC 3875 §5: "The script name [...] of an NPH script MUST begin with nph-".
  const nph = basename(scriptPath).startsWith('nph-');
  const graceMs = options.killGraceMs ?? 1000;
  const stderrLimit = options.stderrLimitBytes ?? 16 * 1024;
  // The operator's env (a location's `env:`, --env, app.env in a generated stack) comes after
  // the built variables and replaces same-named ones, PATH included.
  const extra: Array<readonly [string, string]> = [
    ['SCRIPT_FILENAME', scriptPath],
    ...(target.env ?? []),
    ...(options.params ?? []),
  ];
  const running = new Set<ChildProcess>();

  /** SIGTERM the script's process group, SIGKILL it if still there after the grace period. */
  function terminate(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    child.once('exit', () => clearTimeout(timer));
  }

  const request: Transport['request'] = (req, timeouts) =>
    new Promise((resolve, reject) => {
      if (req.signal.aborted) {
        reject(failure.aborted({ target, sentAnything: false, cause: req.signal.reason }));
        return;
      }
      const env: Record<string, string> = {
        PATH: options.path ?? SAFE_SCRIPT_PATH,
      };
      try {
        // The environment of a process is text for node (UTF-8 on the way out): the byte
        // strings are turned back into the text their UTF-8 octets spell.
        for (const [name, value] of buildCgiEnv(req, extra)) env[name] = decodeByteString(value);
      } catch (error) {
        reject(failure.withFacts(error, { target, sentAnything: false }));
        return;
      }
      // No interpreter: execve runs the file by its own `#!` line, or as the binary it is (cgit
      // is a C program) — a script is never handed to a guessed interpreter.
      const command = interpreter ?? scriptPath;
      const args = interpreter === undefined ? [] : [scriptPath];
      // §7.2 (UNIX): "the current working directory for the script SHOULD be set to the
      // directory containing the script". detached: its own process group, killed as a whole.
      const child = spawn(command, args, { env, cwd: dirname(scriptPath), stdio: 'pipe', detached: true });
      running.add(child);
      const log = new StderrLog(options.logger, stderrLimit);
      const head = new ResponseHeadDecoder(nph ? 'http' : 'cgi', options.maxHeadBytes);
      let spawned = false;
      let settled = false;
      let done = false;
      let body: UpstreamBody | null = null;

      const facts = (cause?: unknown, more?: Record<string, unknown>) => ({
        target,
        sentAnything: spawned,
        cause,
        details: { pid: child.pid, stderrTail: log.tail, ...more },
      });
      // No connection to wait for: the send timeout runs from the spawn while there is a body.
      const clock = new TimerClock(() => fail(timer.timedOut(facts())));
      const timer = new PhaseTimer(clock.set, timeouts, req.body === null ? 'read' : 'send');
      timer.arm();
      const finish = (): void => {
        if (done) return;
        done = true;
        clock.stop();
        req.signal.removeEventListener('abort', onAbort);
      };
      /** Stop the script and fail what is pending. */
      const fail = (error: Error): void => {
        finish();
        terminate(child);
        if (!settled) {
          settled = true;
          reject(error);
        } else if (body !== null && !body.complete && !body.destroyed) {
          body.destroy(error);
        }
      };
      const onAbort = (): void => fail(failure.aborted(facts(req.signal.reason)));
      req.signal.addEventListener('abort', onAbort, { once: true });

      child.on('spawn', () => {
        spawned = true;
      });
      child.on('error', (error) => {
        // spawn failed (ENOENT, EACCES): nothing ran.
        if (!spawned) fail(failure.connect({ target, sentAnything: false, cause: error }));
      });

      // The script may exit without reading its input: EPIPE on stdin is not a failure.
      child.stdin.on('error', () => {});
      if (req.body === null) {
        child.stdin.end();
      } else {
        writeRequestBody(child.stdin, req.body, (chunk) => {
          clock.touch();
          return chunk;
        }).then(
          () => {
            child.stdin.end();
            if (timer.phase === 'send') timer.enter('read');
          },
          () => {},
        );
      }

      child.stderr.on('data', (data: Buffer) => log.write(data));

      child.stdout.on('data', (chunk: Buffer) => {
        if (done && body === null) return;
        clock.touch();
        try {
          if (body === null) {
            const parsed = head.push(chunk);
            if (parsed === null) return;
            if (timer.phase !== 'read') timer.enter('read');
            body = new UpstreamBody(
              {
                resume: () => {
                  if (!timer.paused) return;
                  child.stdout.resume();
                  timer.resume();
                },
                release: (error) => {
                  // The consumer left (or the body failed) before the script finished.
                  if (error !== null || !body?.complete) {
                    finish();
                    terminate(child);
                  }
                },
                truncated: (what) => failure.reset({ ...facts(), what: `response body ${what}` }),
              },
              parsed,
              responseHasBody(req.method, parsed.status),
            );
            settled = true;
            resolve(upstreamResponse(parsed, body));
            chunk = parsed.rest;
          }
          if (!body.deliver(chunk)) {
            child.stdout.pause();
            timer.pause();
          }
        } catch (error) {
          fail(failure.withFacts(error, facts()));
        }
      });

      child.stdout.on('end', () => {
        if (body !== null) {
          body.sourceEnded();
          finish();
        }
      });

      child.on('close', (code, signal) => {
        running.delete(child);
        log.end();
        if (settled || done) {
          finish();
          return;
        }
        const exit = { exitCode: code, signal };
        if (code !== 0) {
          fail(
            failure.reset({
              ...facts(undefined, exit),
              what: `exited (${signal ?? `code ${code}`}) before writing a complete response head`,
            }),
          );
        } else {
          fail(
            failure.malformed({
              ...facts(undefined, exit),
              what:
                head.headBytes === 0
                  ? 'exited without writing a response'
                  : 'exited inside its response head (no empty line after the header fields)',
            }),
          );
        }
      });
    });

  return {
    scheme: 'cgi',
    target,
    request,
    async close(): Promise<void> {
      const exits = [...running].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else child.once('close', () => resolve());
            terminate(child);
          }),
      );
      await Promise.all(exits);
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
