// server-status: a server's own status page (php-fpm pm.status_path: its queue, its children,
// the requests each is running) is the operator's, not a client's. It answers on a socket of its
// own (pm.status_listen) — read here over FastCGI as the operator would on the host — and
// through the front the status path is just another path: never the status page. App-
// independent, so it holds on the user's app as on the probe app.

import { connect } from 'node:net';
import { RecordType } from '../gateway/codecs/fastcgi/header.js';
import { FastcgiRecordDecoder } from '../gateway/codecs/fastcgi/reader.js';
import { encodeFastcgiRequest } from '../gateway/codecs/fastcgi/writer.js';
import { SERVERS } from '../topology/catalog/servers.js';
import { statusSocketPath } from '../topology/catalog/recipes.js';
import { httpRequest } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** What php-fpm's status page says in every format (text, ?json, ?html). */
export const STATUS_PAGE = /accepted conn|start since|"process manager"/i;

interface Observed {
  socket: string;
  own: { body: string; error: string | null };
  front: { status: number; body: string };
}

/** One FastCGI request (GET, no body) on a unix socket: the stdout it answered, or why not. */
export function fastcgiGet(
  path: string,
  vars: ReadonlyArray<readonly [string, string]>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const decoder = new FastcgiRecordDecoder();
    const out: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () =>
      socket.write(encodeFastcgiRequest({ requestId: 1, vars, keepConn: false, endStdin: true })),
    );
    socket.on('data', (chunk) => {
      for (const ev of decoder.push(chunk)) {
        if (ev.type === RecordType.Stdout) out.push(Buffer.from(ev.data));
        if (ev.type === RecordType.EndRequest) {
          clearTimeout(timer);
          socket.end();
          resolve(Buffer.concat(out).toString('utf8'));
        }
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('the connection closed before FCGI_END_REQUEST'));
    });
  });
}

export const serverStatusProbe: ProbeDefinition<Observed> = {
  id: 'server-status',
  title: "the app server's status page: on its own socket, never through the front",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: (ctx) =>
    statusSocketPath(ctx.plan) === null ? 'the app server has no status page of its own' : null,
  expect(ctx) {
    const statusPath = SERVERS[ctx.plan.spec.serve.server].scripts?.statusPath;
    return `${statusSocketPath(ctx.plan)} answers ${statusPath} with the pool's status; ${statusPath} through the front does not`;
  },
  async observe(ctx) {
    const statusPath = SERVERS[ctx.plan.spec.serve.server].scripts!.statusPath!;
    const socket = statusSocketPath(ctx.plan)!;
    const vars: Array<[string, string]> = [
      ['REQUEST_METHOD', 'GET'],
      ['SCRIPT_NAME', statusPath],
      ['SCRIPT_FILENAME', statusPath],
      ['QUERY_STRING', ''],
    ];
    const [own, front] = await Promise.all([
      fastcgiGet(socket, vars, 5_000).then(
        (body) => ({ body, error: null }),
        (err: Error) => ({ body: '', error: err.message }),
      ),
      httpRequest(ctx.front, `${statusPath}?full`, { signal: ctx.signal }),
    ]);
    return { socket, own, front: { status: front.status, body: front.body.toString('utf8') } };
  },
  judge({ socket, own, front }, ctx) {
    const statusPath = SERVERS[ctx.plan.spec.serve.server].scripts!.statusPath!;
    if (STATUS_PAGE.test(front.body))
      return fail(`${statusPath} through the front answered ${front.status} with the pool's status page`);
    if (own.error) return fail(`${socket}: ${own.error}`);
    if (!STATUS_PAGE.test(own.body))
      return fail(`${socket} answered ${JSON.stringify(own.body.slice(0, 100))}`);
    const pool = /^pool:\s+(\S+)/m.exec(own.body)?.[1] ?? '?';
    return pass(
      `${socket}: status of pool ${pool}; ${statusPath} through the front: ${front.status}, not the status page`,
    );
  },
};
