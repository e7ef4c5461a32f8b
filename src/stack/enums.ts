// The enumerated values of stack.yaml, without the schema: a leaf module, so the command
// line's help and usage errors (src/cli/options.ts) list them without loading zod.
// src/stack/schema.ts builds its enums from these and re-exports them.

import { PROXY_KINDS, SERVER_NAMES } from '../topology/catalog/names.js';

export { PROXY_KINDS };

export const FRAMEWORKS = [
  'flask',
  'django',
  'bottle',
  'tornado',
  'fastapi',
  'starlette',
  'wsgi',
  'asgi',
  'cgi',
  'php',
] as const;
export const INTERFACES = ['wsgi', 'asgi', 'tornado', 'cgi', 'php'] as const;
export const SERVERS = SERVER_NAMES;
export const CONCURRENCY = ['prefork', 'threads', 'gevent', 'async', 'process-per-request'] as const;
export const PROTOCOLS = ['http', 'uwsgi', 'fastcgi', 'scgi', 'cgi', 'mod_wsgi'] as const;
export const MANAGERS = ['systemd', 'supervisor', 'none'] as const;

export type Framework = (typeof FRAMEWORKS)[number];
export type AppInterface = (typeof INTERFACES)[number];
export type ServerName = (typeof SERVERS)[number];
export type Concurrency = (typeof CONCURRENCY)[number];
export type ProxyKind = (typeof PROXY_KINDS)[number];
export type Protocol = (typeof PROTOCOLS)[number];
export type Manager = (typeof MANAGERS)[number];
