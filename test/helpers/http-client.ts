// A small node:http client for gateway integration tests: raw header arrays (duplicates and
// odd names survive), optional chunked bodies, and the full response collected.

import { request } from 'node:http';

export interface ClientResponse {
  status: number;
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ClientRequest {
  method?: string;
  path: string;
  /** Flat [name, value, …]; a Host is added when absent. */
  headers?: string[];
  /** Sent with Content-Length, or chunk by chunk (Transfer-Encoding: chunked) when an array. */
  body?: Buffer | Buffer[];
  timeoutMs?: number;
}

export function httpCall(port: number, req: ClientRequest): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const headers = [...(req.headers ?? [])];
    if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host'))
      headers.push('Host', `127.0.0.1:${port}`);
    if (Buffer.isBuffer(req.body)) headers.push('Content-Length', String(req.body.length));
    if (Array.isArray(req.body)) headers.push('Transfer-Encoding', 'chunked');
    const creq = request(
      { host: '127.0.0.1', port, method: req.method ?? 'GET', path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            rawHeaders: res.rawHeaders,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    creq.setTimeout(req.timeoutMs ?? 30_000, () => creq.destroy(new Error('client timeout')));
    creq.on('error', reject);
    if (Array.isArray(req.body)) {
      for (const chunk of req.body) creq.write(chunk);
      creq.end();
    } else creq.end(req.body);
  });
}

/** JSON body of a response. */
export function json<T = Record<string, unknown>>(res: ClientResponse): T {
  return JSON.parse(res.body.toString('utf8')) as T;
}
