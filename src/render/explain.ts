// The request path drawn hop by hop, each hop labelled with its protocol and why it is
// there: as text (for terminals and the generated README) or as a mermaid flowchart.

import { bindEndpoint, nginxAddress, type Plan } from './plan.js';
import { ROUTER_NODE } from '../topology/resolve.js';
import type { Hop } from '../topology/types.js';

function nodeLabel(plan: Plan, id: string): string {
  if (id === 'client') return 'client';
  if (id === 'python') return `${plan.spec.app.framework} app ${plan.spec.app.entry}`;
  if (id === 'files') return 'static files';
  if (id === ROUTER_NODE) return plan.appServer?.router?.title ?? id;
  if (id === 'tasks') return `tasks of ${plan.spec.tasks?.app}`;
  const c = plan.topology.components.find((x) => x.id === id);
  // Someone else's broker (tasks.broker a URL or app.env_file's): it runs no process of the stack.
  if (!c)
    return id === 'broker'
      ? `broker ${plan.spec.tasks?.broker === 'env' ? "(app.env_file's CELERY_BROKER_URL)" : plan.spec.tasks?.broker}`
      : id;
  if (c.role === 'task-worker' && c.workers) return `${c.title} [prefork, ${c.workers.count} processes]`;
  if (c.role === 'app-server') {
    const threads = c.threads ? ` × ${c.threads.count} threads` : '';
    return `${c.title} [${c.concurrency}, ${c.workers.count} ${c.instances > 1 ? 'processes' : 'workers'}${threads}]`;
  }
  return c.title;
}

function hopLabel(plan: Plan, hop: Hop): string {
  const target = plan.topology.components.find((c) => c.id === hop.to);
  // A hop to N per-port processes (tornado) shows every address the proxy balances over.
  const endpoints = hop.via
    ? target && target.listen.length > 1 && hop.from !== 'client'
      ? target.listen
      : [hop.via]
    : [];
  // The client's hop: every address the front listens on (IPv4 and IPv6), as bound here.
  const bound =
    hop.from === 'client' && hop.via
      ? plan.front.listens
      : endpoints.map((ep) => bindEndpoint(ep, plan.site));
  const via = bound.length ? ` ${bound.map(nginxAddress).join(', ')}` : '';
  const protocol = hop.protocol === 'file' ? 'sendfile' : hop.protocol.toUpperCase();
  // proxy.tls: clients come in over HTTPS; the http addresses serve the app too, or only redirect.
  const tls = plan.spec.proxy.tls;
  if (hop.from === 'client' && tls !== 'off' && plan.front.tlsListens.length > 0) {
    const https = `HTTPS ${plan.front.tlsListens.map(nginxAddress).join(', ')}`;
    return tls.redirect_http ? `${https} (HTTP${via}: 301 to https)` : `${https}, HTTP${via}`;
  }
  return `${protocol}${via}`;
}

/** Text diagram: one line per hop with the reason beneath. */
export function explainText(plan: Plan): string {
  const lines: string[] = [];
  for (const path of plan.topology.paths) {
    // No URL selects beat's periodic tasks: the path has no prefix to show.
    const selects =
      path.urlPrefix === '' ? '' : ` (${path.urlPrefix}${path.directory ? ` → ${path.directory}` : ''})`;
    lines.push(`path "${path.name}"${selects}:`);
    for (const id of path.hops) {
      const hop = plan.topology.hops.find((h) => h.id === id)!;
      lines.push(`  ${nodeLabel(plan, hop.from)}`);
      lines.push(`    │ ${hopLabel(plan, hop)}`);
      lines.push(`    │   why: ${hop.why}`);
      lines.push('    ▼');
      if (id === path.hops.at(-1)) lines.push(`  ${nodeLabel(plan, hop.to)}`);
    }
  }
  return lines.join('\n');
}

/** Mermaid flowchart of all hops. */
export function explainMermaid(plan: Plan): string {
  const ids = new Map<string, string>();
  const node = (id: string) => {
    if (!ids.has(id)) ids.set(id, `n${ids.size}`);
    return ids.get(id)!;
  };
  const esc = (s: string) => s.replace(/"/g, "'");
  const lines = ['flowchart LR'];
  for (const hop of plan.topology.hops) {
    lines.push(
      `  ${node(hop.from)}["${esc(nodeLabel(plan, hop.from))}"] -->|"${esc(hopLabel(plan, hop))}"| ${node(hop.to)}["${esc(nodeLabel(plan, hop.to))}"]`,
    );
  }
  return lines.join('\n');
}
