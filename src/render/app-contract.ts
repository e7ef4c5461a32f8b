// The facts of a plan the app's settings must agree with (catalog/app-contracts.ts turns
// them into settings lines for the deploy README and into `stackgen check` warnings). Pure.

import { type ContractFacts, type ContractItem, APP_CONTRACTS } from '../topology/catalog/app-contracts.js';
import { PROTOCOLS, PROXIES } from '../topology/catalog/proxies.js';
import { nginxAddress, sizeToBytes } from './address.js';
import type { Plan } from './plan.js';

/** 127.0.0.0/8, ::1, localhost: a TCP address only this host can connect to. Pure. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return /^127\./.test(h) || h === '::1' || h === 'localhost';
}

/** What the app must agree with in this plan. */
export function contractFacts(plan: Plan): ContractFacts {
  const spec = plan.spec;
  const names = spec.proxy.server_name.split(/\s+/).filter((n) => n !== '' && n !== '_');
  const tls = spec.proxy.tls === 'off' || plan.front.tlsListens.length === 0 ? null : spec.proxy.tls;
  // The origins a browser uses: https ones with TLS, and http ones where http serves the app.
  const schemePorts: Array<[string, number]> = [
    ...(tls
      ? [...new Set(plan.front.tlsListens.map((l) => l.port))].map((p): [string, number] => ['https', p])
      : []),
    ...(tls?.redirect_http
      ? []
      : [...new Set(plan.front.listens.map((l) => l.port))].map((p): [string, number] => ['http', p])),
  ];
  const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };
  const front = PROXIES[plan.front.kind];
  const hasFront = front.process !== null;
  // The app server's own endpoints (or the CGI bridge's); with no front it faces clients.
  const endpoints = plan.appServer?.bound ?? (plan.bridge ? [plan.bridge.bound] : []);
  const exposed = hasFront
    ? endpoints.find((ep) => ep.kind === 'tcp' && !isLoopbackHost(ep.host))
    : endpoints[0];
  return {
    names,
    origins: names
      .filter((n) => !n.startsWith('~') && !n.startsWith('*'))
      .map((n) => n.replace(/^\./, ''))
      .flatMap((n) =>
        schemePorts.map(([s, p]) => (p === DEFAULT_PORT[s] ? `${s}://${n}` : `${s}://${n}:${p}`)),
      ),
    tls: tls ? { redirect: tls.redirect_http, hsts: tls.hsts !== 'off' } : null,
    front: hasFront ? { title: front.title, forwardedFromConnection: front.forwardedFromConnection } : null,
    appExposedAt: exposed ? nginxAddress(exposed) : null,
    appListens: endpoints.map(nginxAddress).join(', ') || 'the front itself (CGI)',
    cgiStyle: hasFront && PROTOCOLS[spec.proxy.protocol].cgiStyle,
    mount: spec.app.mount,
    statics: Object.keys(spec.app.static),
    maxBody: spec.proxy.max_body,
    maxBodyBytes: sizeToBytes(spec.proxy.max_body),
  };
}

/** The settings lines the deploy README lists for this plan's framework; null when it has none. */
export function appContractItems(plan: Plan): ContractItem[] | null {
  return APP_CONTRACTS[plan.spec.app.framework]?.items(contractFacts(plan)) ?? null;
}
