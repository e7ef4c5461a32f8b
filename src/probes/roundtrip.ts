// roundtrip: GET and POST through the path arrive as sent — method, raw query string and a
// non-ASCII path (2- and 3-byte UTF-8) intact, the body byte for byte.

import { createHash } from 'node:crypto';
import type { EchoResponse } from './contract.js';
import { httpRequest, jsonOf } from './http.js';
import { fail, pass, type ProbeDefinition } from './types.js';

/** € is outside latin-1: a hop that decodes the path with the wrong charset shows here. */
export const UNICODE_PATH = '/caf%C3%A9/%E2%82%AC';
export const UNICODE_PATH_DECODED = '/café/€';
export const QUERY = 'x=1&y=%C3%A9&z=a+b&empty=';
const POST_BODY = Buffer.from('stackgen ✓ roundtrip\n');

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Observed {
  get: { status: number; echo: EchoResponse | null };
  post: { status: number; echo: EchoResponse | null };
}

export const roundtripProbe: ProbeDefinition<Observed> = {
  id: 'roundtrip',
  title: 'GET/POST round trip: query string and non-ASCII path intact',
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: true,
  after: ['app/reach'],
  expect: () =>
    `GET ${UNICODE_PATH_DECODED}?${QUERY} echoed as sent; POST body sha256 ${sha256(POST_BODY).slice(0, 12)}…`,
  async observe(ctx) {
    const [get, post] = await Promise.all([
      httpRequest(ctx.front, `${UNICODE_PATH}?${QUERY}`, { signal: ctx.signal }),
      httpRequest(ctx.front, '/stackgen-verify/post', {
        method: 'POST',
        body: POST_BODY,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        signal: ctx.signal,
      }),
    ]);
    return {
      get: { status: get.status, echo: jsonOf<EchoResponse>(get) },
      post: { status: post.status, echo: jsonOf<EchoResponse>(post) },
    };
  },
  judge({ get, post }) {
    const g = get.echo;
    const p = post.echo;
    if (get.status !== 200 || !g) return fail(`GET answered ${get.status}`);
    if (g.method !== 'GET' || g.path !== UNICODE_PATH_DECODED || g.query !== QUERY)
      return fail(
        `GET arrived as ${g.method} path ${JSON.stringify(g.path)} query ${JSON.stringify(g.query)}`,
      );
    if (post.status !== 200 || !p) return fail(`POST answered ${post.status}`);
    if (p.method !== 'POST' || p.body_sha256 !== sha256(POST_BODY))
      return fail(
        `POST arrived as ${p.method} with ${p.body_length} bytes, sha256 ${p.body_sha256.slice(0, 12)}…`,
      );
    return pass(`path ${g.path}, query intact, POST body ${p.body_length} bytes intact`);
  },
};
