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
  /** Absolute app directory (working directory and import path). */
  appRoot: string;
  /** Interpreter for servers started through Python. */
  python: string;
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
  /** Files nginx needs outside the config dir. */
  nginx: { mimeTypes: string; pidFile: string; tempDir: string; errorLog: string; accessLog: string };
}

export interface ProductionSiteOptions {
  /** Directory of stack.yaml: app.root and static dirs are relative to it. */
  baseDir: string;
}

/** The production site: /etc/stackgen/<name>, /run/<name>, /var/log/<name>, real ports and users. */
export function productionSite(spec: NormalizedSpec, options: ProductionSiteOptions): Site {
  const name = spec.name;
  return {
    kind: 'production',
    configDir: `/etc/stackgen/${name}`,
    runDir: `/run/${name}`,
    logDir: `/var/log/${name}`,
    appRoot: isAbsolute(spec.app.root) ? spec.app.root : resolve(options.baseDir, spec.app.root),
    python: spec.app.venv ? join(spec.app.venv, 'bin', 'python') : spec.app.python,
    envFile: spec.app.env_file === undefined ? null : resolve(options.baseDir, spec.app.env_file),
    stackgenCommand: [INSTALLED_STACKGEN],
    users: { app: spec.processes.user, group: spec.processes.group, proxy: spec.proxy.user },
    usersMapped: false,
    ports: {},
    listenHost: null,
    listenHost6: null,
    nginx: {
      mimeTypes: '/etc/nginx/mime.types',
      pidFile: '/run/nginx.pid',
      tempDir: '/var/lib/nginx',
      errorLog: '/var/log/nginx/error.log',
      accessLog: `/var/log/nginx/${name}.access.log`,
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
    stackgenCommand: o.stackgenCommand,
    users,
    usersMapped: o.users === null,
    ports: o.ports,
    listenHost: '127.0.0.1',
    listenHost6: o.ipv6Loopback ? '[::1]' : null,
    nginx: {
      mimeTypes: '/etc/nginx/mime.types',
      pidFile: join(o.dir, 'run', 'nginx.pid'),
      tempDir: join(o.dir, 'nginx-temp'),
      errorLog: join(o.dir, 'log', 'nginx-error.log'),
      accessLog: join(o.dir, 'log', 'nginx-access.log'),
    },
  };
}
