// proxy.tls.acme as certbot runs it: the one place that says which names, which directory,
// which webroot, where the certificate lands and what the deploy hook is. Install's steps,
// the deploy README, the nginx site's comments and the machine target's probes all read it.
// Pure.
//
// The first issuance (RFC 8555 §8.3 HTTP-01) needs the front (nginx, or the gateway's unit)
// answering on port 80 before any certificate exists, but its TLS listener refuses to load
// without one: install writes a self-signed placeholder (one day, the stack's first name)
// where the front reads the certificate, starts the front, then runs `certbot certonly
// --webroot`; certbot's deploy hook points those files at /etc/letsencrypt/live/<name>/ and
// reloads the front (PROXIES[…].acme.reloadCommand). Renewals (certbot.timer → `certbot
// renew`) run the same hook, recorded in certbot's renewal file.

import { dirname } from 'node:path';
import { privateCopyCommands } from '../render/artifacts.js';
import { shellQuote } from '../render/helpers.js';
import { isFrontComponent, type Plan, unitBaseName } from '../render/plan.js';
import { PROXIES } from '../topology/catalog/proxies.js';
import { acmeCertificateDir, sandboxMainPidFile } from '../topology/site.js';

export interface AcmePlan {
  /** certbot's --cert-name: the stack's name (one lineage per stack, whatever its names). */
  certName: string;
  names: string[];
  email: string;
  directory: string;
  webroot: string;
  /** Where the front reads the certificate (placeholder first, then links into live/; the gateway's unit copies them). */
  certDir: string;
  cert: string;
  key: string;
  /** certbot's lineage: /etc/letsencrypt/live/<certName>/. */
  liveDir: string;
  /** certbot's renewal configuration of the lineage (authenticator, webroot, server, hook). */
  renewalConf: string;
  /** certbot's --config-dir/--work-dir/--logs-dir when not Debian's (a sandbox's own, unprivileged). */
  certbotDirs: string[];
  /** The generated deploy hook, installed with the stack's files. */
  deployHook: string;
  /** What the deploy hook runs to load a new certificate without dropping a connection. */
  reloadCommand: string;
  /** Why that command drops no connection (the hook's comment). */
  reloadWhy: string;
  /** The front's title (nginx, stackgen gateway), for the hook's and the README's words. */
  frontTitle: string;
  /** Where the front's unit copies cert and key for it (the gateway: /run/NAME-tls); null: it reads them itself. */
  copiedTo: string | null;
}

/** certbot's configuration directory (Debian's default). */
export const CERTBOT_CONFIG_DIR = '/etc/letsencrypt';

/** The ACME side of a plan; null unless proxy.tls is `{acme}` on a front certbot serves. */
export function acmePlan(plan: Plan): AcmePlan | null {
  const tls = plan.spec.proxy.tls;
  const support = PROXIES[plan.front.kind].acme;
  if (tls === 'off' || !('acme' in tls) || 'refusal' in support) return null;
  // Where the front reads it on this site: production's placeholder-then-links, or the
  // sandbox's stand-in (verify's hook relinks those files as install's does production's).
  const certDir = acmeCertificateDir(plan.name);
  const cert = plan.site.tls?.cert ?? `${certDir}/fullchain.pem`;
  const key = plan.site.tls?.key ?? `${certDir}/privkey.pem`;
  const certbotDir = plan.site.certbotDir;
  return {
    certName: plan.name,
    names: plan.spec.proxy.server_name.split(/\s+/).filter((n) => n !== ''),
    email: tls.acme.email,
    directory: tls.acme.directory,
    webroot: plan.site.acmeWebroot,
    certDir: dirname(cert),
    cert,
    key,
    liveDir: `${certbotDir}/live/${plan.name}`,
    renewalConf: `${certbotDir}/renewal/${plan.name}.conf`,
    certbotDirs:
      certbotDir === CERTBOT_CONFIG_DIR
        ? []
        : [
            '--config-dir',
            certbotDir,
            '--work-dir',
            `${certbotDir}/work`,
            '--logs-dir',
            `${certbotDir}/logs`,
          ],
    deployHook: plan.files.certbotDeployHook,
    reloadCommand: support.reloadCommand(reloadSite(plan)),
    reloadWhy: support.reloadWhy,
    frontTitle: PROXIES[plan.front.kind].title,
    copiedTo: plan.launches.find((l) => isFrontComponent(plan, l.component))?.privateCopies?.dir ?? null,
  };
}

/** Where the deploy hook reloads this plan's front (its catalog entry picks what it needs). */
function reloadSite(plan: Plan) {
  // A front stackgen renders a unit for (the gateway); nginx is the distribution's service.
  const front = plan.launches.find((l) => l.managed && isFrontComponent(plan, l.component));
  const sandbox = plan.site.kind === 'sandbox';
  return {
    production: !sandbox,
    mainConfig: plan.files.nginxConf,
    pidFile: plan.site.nginx.pidFile,
    unit: front ? `${unitBaseName(plan, front.component)}.service` : null,
    mainPidFile: front && sandbox ? sandboxMainPidFile(plan.site, front.id) : null,
    beforeReload:
      front?.privateCopies != null
        ? privateCopyCommands(front, front.privateCopies).map((argv) => argv.map(shellQuote).join(' '))
        : [],
  };
}

/** The first issuance, as install runs it (and the deploy README shows it). */
export function certonlyArgv(a: AcmePlan): string[] {
  return [
    'certbot',
    'certonly',
    ...a.certbotDirs,
    '--non-interactive',
    '--agree-tos',
    '--email',
    a.email,
    '--server',
    a.directory,
    '--webroot',
    '--webroot-path',
    a.webroot,
    '--cert-name',
    a.certName,
    ...a.names.flatMap((n) => ['--domain', n]),
    // Stored in the lineage's renewal file as renew_hook: every renewal runs it too.
    '--deploy-hook',
    a.deployHook,
  ];
}

/** The placeholder nginx starts with before the first issuance (self-signed, one day). */
export function placeholderArgv(a: AcmePlan): string[] {
  return [
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${a.names[0] ?? a.certName}`,
    '-keyout',
    a.key,
    '-out',
    a.cert,
  ];
}

/** A forced renewal of the stack's lineage (what the machine target's probe runs). */
export function forcedRenewalArgv(a: AcmePlan): string[] {
  // Without a terminal certbot renew first sleeps up to 8 minutes (spreading the load on the
  // CA); Debian's certbot.service passes --no-random-sleep-on-renew (the timer randomizes).
  return [
    'certbot',
    'renew',
    ...a.certbotDirs,
    '--non-interactive',
    '--no-random-sleep-on-renew',
    '--force-renewal',
    '--cert-name',
    a.certName,
  ];
}

/** What certbot's renewal file must say for `certbot renew` to do what install did. Pure. */
export function renewalConfProblems(text: string, a: AcmePlan): string[] {
  const value = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? null;
  const expected: Array<[string, string | null, string]> = [
    ['authenticator', value('authenticator'), 'webroot'],
    ['server', value('server'), a.directory],
    ['renew_hook', value('renew_hook'), a.deployHook],
  ];
  const problems = expected
    .filter(([, got, want]) => got !== want)
    .map(([key, got, want]) => `${key} = ${got ?? '(none)'}, not ${want}`);
  // [[webroot_map]]: each name → the webroot (certbot writes it per name).
  for (const n of a.names) {
    const mapped = new RegExp(`^${n.replace(/\./g, '\\.')}\\s*=\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
    if (mapped !== a.webroot) problems.push(`webroot_map ${n} = ${mapped ?? '(none)'}, not ${a.webroot}`);
  }
  return problems;
}

/**
 * The spec with proxy.tls.acme.directory replaced (verify points certbot at a local pebble
 * this way; nothing else of stack.yaml changes). Unchanged without ACME. Pure.
 */
export function withAcmeDirectory<S extends { proxy: { tls: TlsSetting } }>(spec: S, directory: string): S {
  const tls = spec.proxy.tls;
  if (tls === 'off' || !('acme' in tls)) return spec;
  return { ...spec, proxy: { ...spec.proxy, tls: { ...tls, acme: { ...tls.acme, directory } } } };
}

type TlsSetting = Plan['spec']['proxy']['tls'];

/** Does this spec get a certificate over ACME (proxy.tls.acme on a front certbot serves)? Pure. */
export function specUsesAcme(spec: { proxy: { kind: Plan['front']['kind']; tls: TlsSetting } }): boolean {
  const tls = spec.proxy.tls;
  return tls !== 'off' && 'acme' in tls && 'client' in PROXIES[spec.proxy.kind].acme;
}
