// The floor of a Node proxy on the bench's uwsgi path: what Node's net stack costs per proxied
// request when the proxy does nothing else — no HTTP parsing or checks (it assumes one whole
// request per read, as wrk sends them), no routing, no CGI variables built per request (one
// packet built at start), the backend's answer passed through untouched, and the gateway's
// one trick for uwsgi: a closed net.Socket connects again (listeners attached once) instead
// of a new Socket per request. NOT a server: it exists so `npm run bench gateway` can show how much
// of the gateway's cost per request is Node's own, measured in the same run as nginx.
// Usage: node bench/node-floor.mjs PORT UWSGI_SOCKET

import { createServer, Socket } from 'node:net';

const [port, socketPath] = process.argv.slice(2);
const vars = {
  REQUEST_METHOD: 'GET',
  REQUEST_URI: '/uwsgi/',
  PATH_INFO: '/uwsgi/',
  QUERY_STRING: '',
  SERVER_NAME: 'bench',
  SERVER_PORT: String(port),
  SERVER_PROTOCOL: 'HTTP/1.1',
  REMOTE_ADDR: '127.0.0.1',
  HTTP_HOST: `127.0.0.1:${port}`,
};
const fields = [];
for (const [name, value] of Object.entries(vars)) {
  for (const text of [name, value]) {
    const bytes = Buffer.from(text, 'latin1');
    const size = Buffer.alloc(2);
    size.writeUInt16LE(bytes.length);
    fields.push(size, bytes);
  }
}
const body = Buffer.concat(fields);
// uwsgi packet header: modifier1 0 (WSGI), datasize (LE16), modifier2 0.
const packet = Buffer.concat([Buffer.from([0, body.length & 0xff, body.length >> 8, 0]), body]);

/** Closed backend sockets, to connect again. */
const free = [];

function backendSocket() {
  const backend = new Socket();
  backend.client = null;
  backend.answer = [];
  backend.on('data', (chunk) => backend.answer.push(chunk));
  backend.on('end', () => {
    const { answer, client } = backend;
    client?.write(answer.length === 1 ? answer[0] : Buffer.concat(answer));
  });
  backend.on('error', () => backend.client?.destroy());
  backend.on('close', () => {
    backend.client = null;
    if (backend.writableLength === 0) free.push(backend);
  });
  return backend;
}

createServer((client) => {
  client.on('error', () => {});
  client.on('data', () => {
    const backend = free.pop() ?? backendSocket();
    backend.client = client;
    backend.answer = [];
    backend.connect(socketPath);
    backend.write(packet);
  });
}).listen(Number(port), '127.0.0.1');
