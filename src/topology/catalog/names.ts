// The names a stack.yaml may give an app server or a front server: the keys of the
// catalog's entries. The schema (src/stack/schema.ts) takes its enums from here, so a new
// server or proxy is named in the catalog and nowhere else.

export const SERVER_NAMES = [
  'uwsgi',
  'gunicorn',
  'uvicorn',
  'hypercorn',
  'daphne',
  'tornado',
  'waitress',
  'wsgiref',
  'cgi',
  'php-fpm',
  'mod_wsgi',
] as const;
export const PROXY_KINDS = ['nginx', 'gateway', 'lighttpd', 'apache', 'none'] as const;

/** The front server a stack gets when stack.yaml names none: it buffers, limits and serves static files. */
export const DEFAULT_PROXY: (typeof PROXY_KINDS)[number] = 'nginx';
