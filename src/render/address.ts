// How an address or a size is written for each consumer. Pure and a leaf module: the
// catalog's recipes, the plan and the template helpers all import it, so it imports none
// of them.

export type BoundEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** nginx's form of an address: `unix:/path` or `host:port`. */
export function nginxAddress(ep: BoundEndpoint): string {
  return ep.kind === 'unix' ? `unix:${ep.path}` : `${ep.host}:${ep.port}`;
}

/** The gateway's upstream URL for an endpoint (`uwsgi://unix:/run/x.sock`, `cgi:/path`). */
export function gatewayUpstreamUrl(protocol: string, ep: BoundEndpoint): string {
  return ep.kind === 'unix' ? `${protocol}://unix:${ep.path}` : `${protocol}://${ep.host}:${ep.port}`;
}

/** Sizes like 10m → bytes (nginx syntax). */
export function sizeToBytes(size: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (!m) return 0;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}
