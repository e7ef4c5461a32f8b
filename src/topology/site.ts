// A Site is everything that differs between where a stack runs: directories, ports, users,
// interpreters. render(topology, site) is the same code for production and for verify's
// sandbox; only the Site changes, never the generated text after the fact.

import { isAbsolute, join, resolve } from 'node:path';
import type { NormalizedSpec } from '../stack/normalize.js';
import { INSTALLED_STACKGEN } from './catalog/proxies.js';

export interface Site {
  kind: 'production' | 'sandbox';
  /** Where the generated tree lives when installed; files refer to each other under it. */
  configDir: string;
  /** Sockets and pid files. */
  runDir: string;
  logDir: string;
  /**
   * Base of the state directories (systemd StateDirectory=, kept across restarts and
   * reboots): a component that keeps files gets `<stateDir>-<component>` (the broker's
   * append-only file, beat's schedule).
   */
  stateDir: string;
  /** Absolute app directory (working directory and import path). */
  appRoot: string;
  /** Interpreter for servers started through Python. */
  python: string;
  /** app.venv, absolute (relative to stack.yaml's directory); null without one. */
  venv: string | null;
  /** app.env_file, absolute; null without one. */
  envFile: string | null;
  /** How a unit starts the stackgen gateway (argv prefix). */
  stackgenCommand: string[];
  /** The user the app server runs as, its group, and the proxy's user. */
  users: { app: string; group: string; proxy: string };
  /** True when users from stack.yaml were mapped to the current user (not root). */
  usersMapped: boolean;
  /** Map a port from stack.yaml to the port used on this site. */
  ports: Record<number, number>;
  /** Address the front listens on (sandbox: loopback). */
  listenHost: string | null;
  /**
   * Where an IPv6 listen address lands when listenHost is set (sandbox: `[::1]`); null there
   * means this loopback has no IPv6 and IPv6 addresses are left out. Unused in production.
   */
  listenHost6: string | null;
  /**
   * The certificate the front serves when proxy.tls is on (null when off). `trustedCa`: the
   * only CA a probe client trusts (a sandbox's throwaway CA; null: the system's store).
   * `replaces`: the user's own files a sandbox's throwaway certificate stands in for (what
   * `stackgen check` judges); null on the production site, where cert and key are them.
   */
  tls: SiteTls | null;
  /** The ACME HTTP-01 webroot: /.well-known/acme-challenge/ on the http listeners is served from here. */
  acmeWebroot: string;
  /** certbot's configuration directory (accounts, live/, renewal/): Debian's, or the sandbox's own. */
  certbotDir: string;
  /** Files nginx needs outside the config dir. */
  nginx: { mimeTypes: string; pidFile: string; tempDir: string; errorLog: string; accessLog: string };
  /**
   * Files Apache needs outside the config dir: Debian's own in production (its apache2.conf
   * and envvars run it there), the sandbox's for the top-level config verify and check run.
   */
  apache: { runDir: string; pidFile: string; errorLog: string; accessLog: string };
}

export interface SiteTls {
  cert: string;
  key: string;
  trustedCa: string | null;
  replaces: { cert: string; key: string } | null;
  /** The certificate file holds its issuer too (a fullchain): what OCSP stapling needs. */
  chain: boolean;
}

/**
 * Where nginx reads an ACME stack's certificate: files of stackgen's own, never certbot's
 * live/ directory itself. Install puts a self-signed placeholder here so nginx can start and
 * serve the HTTP-01 challenge before any certificate exists; certbot's deploy hook then
 * replaces both with links into /etc/letsencrypt/live/<stack name>/ (see src/tls/acme.ts).
 */
export function acmeCertificateDir(name: string): string {
  return `/var/lib/stackgen/${name}/tls`;
}

/**
 * Where a sandbox records the main pid of a unit it starts (systemd's MAINPID: what
 * `systemctl reload` signals), so a rendered script can signal it as the unit's reload would —
 * certbot's deploy hook reloading the gateway. Sandbox only: production asks systemd.
 */
export function sandboxMainPidFile(site: Pick<Site, 'runDir'>, launchId: string): string {
  return join(site.runDir, `${launchId.replace('@', '-')}.mainpid`);
}

/** The production certificate: the user's files (relative to stack.yaml), or where the ACME client puts them. */
function productionTls(spec: NormalizedSpec, o: ProductionSiteOptions): SiteTls | null {
  const tls = spec.proxy.tls;
  if (tls === 'off') return null;
  if ('cert' in tls)
    return {
      cert: resolve(o.baseDir, tls.cert),
      key: resolve(o.baseDir, tls.key),
      trustedCa: null,
      replaces: null,
      chain: o.certChain ?? false,
    };
  // certbot's fullchain.pem always carries the issuer.
  const dir = acmeCertificateDir(spec.name);
  return {
    cert: `${dir}/fullchain.pem`,
    key: `${dir}/privkey.pem`,
    trustedCa: null,
    replaces: null,
    chain: true,
  };
}

export interface ProductionSiteOptions {
  /** Directory of stack.yaml: app.root and static dirs are relative to it. */
  baseDir: string;
  /** proxy.tls.cert holds the issuer after the leaf (read by the shell: tls-files.ts certificateChain); default false. */
  certChain?: boolean | undefined;
}

/** The production site: /etc/stackgen/<name>, /run/<name>, /var/log/<name>, real ports and users. */
export function productionSite(spec: NormalizedSpec, options: ProductionSiteOptions): Site {
  const name = spec.name;
  return {
    kind: 'production',
    configDir: `/etc/stackgen/${name}`,
    runDir: `/run/${name}`,
    logDir: `/var/log/${name}`,
    stateDir: `/var/lib/${name}`,
    appRoot: isAbsolute(spec.app.root) ? spec.app.root : resolve(options.baseDir, spec.app.root),
    // A relative venv is stack.yaml's neighbour, as app.root is: systemd refuses a relative ExecStart.
    venv: spec.app.venv === undefined ? null : resolve(options.baseDir, spec.app.venv),
    python: spec.app.venv ? join(resolve(options.baseDir, spec.app.venv), 'bin', 'python') : spec.app.python,
    envFile: spec.app.env_file === undefined ? null : resolve(options.baseDir, spec.app.env_file),
    stackgenCommand: [INSTALLED_STACKGEN],
    users: { app: spec.processes.user, group: spec.processes.group, proxy: spec.proxy.user },
    usersMapped: false,
    ports: {},
    listenHost: null,
    listenHost6: null,
    tls: productionTls(spec, options),
    acmeWebroot: `/var/lib/stackgen/${name}/acme`,
    certbotDir: '/etc/letsencrypt',
    nginx: {
      mimeTypes: '/etc/nginx/mime.types',
      pidFile: '/run/nginx.pid',
      tempDir: '/var/lib/nginx',
      errorLog: '/var/log/nginx/error.log',
      accessLog: `/var/log/nginx/${name}.access.log`,
    },
    apache: {
      runDir: '/run/apache2',
      pidFile: '/run/apache2/apache2.pid',
      errorLog: '/var/log/apache2/error.log',
      accessLog: `/var/log/apache2/${name}.access.log`,
    },
  };
}

export interface SandboxSiteOptions {
  /** Temp directory owning everything. */
  dir: string;
  baseDir: string;
  /** Ports from stack.yaml → free loopback ports. */
  ports: Record<number, number>;
  stackgenCommand: string[];
  /** Keep the real users from stack.yaml (verify as root) or map them to the current user. */
  users: { app: string; group: string; proxy: string } | null;
  currentUser: { user: string; group: string };
  /** Does this host's loopback have IPv6 (`::1`)? Then IPv6 listen addresses are kept, on ::1. */
  ipv6Loopback: boolean;
  /** A throwaway certificate (and its CA) standing in for proxy.tls's files; null when tls is off. */
  tls?: { cert: string; key: string; ca: string } | null | undefined;
}

/** verify's and check's site: everything inside one temp dir, loopback, free ports. */
export function sandboxSite(spec: NormalizedSpec, o: SandboxSiteOptions): Site {
  const prod = productionSite(spec, { baseDir: o.baseDir });
  const users = o.users ?? { app: o.currentUser.user, group: o.currentUser.group, proxy: o.currentUser.user };
  return {
    ...prod,
    kind: 'sandbox',
    configDir: join(o.dir, 'deploy'),
    runDir: join(o.dir, 'run'),
    logDir: join(o.dir, 'log'),
    stateDir: join(o.dir, 'state'),
    stackgenCommand: o.stackgenCommand,
    users,
    usersMapped: o.users === null,
    ports: o.ports,
    listenHost: '127.0.0.1',
    listenHost6: o.ipv6Loopback ? '[::1]' : null,
    tls:
      prod.tls && o.tls
        ? {
            cert: o.tls.cert,
            key: o.tls.key,
            trustedCa: o.tls.ca,
            replaces: { cert: prod.tls.cert, key: prod.tls.key },
            // The throwaway certificate is the leaf alone, signed by a root the probes trust.
            chain: false,
          }
        : prod.tls,
    acmeWebroot: join(o.dir, 'acme'),
    certbotDir: join(o.dir, 'certbot'),
    nginx: {
      mimeTypes: '/etc/nginx/mime.types',
      pidFile: join(o.dir, 'run', 'nginx.pid'),
      tempDir: join(o.dir, 'nginx-temp'),
      errorLog: join(o.dir, 'log', 'nginx-error.log'),
      accessLog: join(o.dir, 'log', 'nginx-access.log'),
    },
    apache: {
      runDir: join(o.dir, 'run', 'apache2'),
      pidFile: join(o.dir, 'run', 'apache2', 'apache2.pid'),
      errorLog: join(o.dir, 'log', 'apache-error.log'),
      accessLog: join(o.dir, 'log', 'apache-access.log'),
    },
  };
}
