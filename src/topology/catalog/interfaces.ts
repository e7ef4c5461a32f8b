// App interfaces as data: what the front may do with a response, given how the app server
// spends a request. A renderer reads this table; it never asks which server it talks to.

import type { AppInterface, ProxyKind } from '../../stack/enums.js';
import { PROXIES } from './proxies.js';

export interface InterfaceEntry {
  /**
   * The front passes responses through as they come (nginx proxy_buffering off on `/`).
   * false: the front buffers the whole response, so the worker is free once the app returns.
   */
  unbuffered: boolean;
  /** Why, for the generated comment. */
  why: string;
}

export const INTERFACE_BUFFERING: Record<AppInterface, InterfaceEntry> = {
  wsgi: {
    unbuffered: false,
    why: 'a sync WSGI worker is busy until its last byte is written; buffering frees it when the app returns',
  },
  cgi: {
    unbuffered: false,
    why: 'a CGI process lives until its output is read; buffering lets it exit when the script is done',
  },
  asgi: {
    unbuffered: true,
    why: 'an ASGI event loop holds a slow reader for the price of a socket',
  },
  tornado: {
    unbuffered: true,
    why: 'a tornado event loop holds a slow reader for the price of a socket',
  },
  php: {
    unbuffered: false,
    why: 'a php-fpm child is busy until its last byte is written; buffering frees it when the script ends',
  },
};

/**
 * Does the front hold back responses on `/`? Only a buffering front (nginx) in front of an
 * interface whose worker a slow reader would pin; user-marked paths (proxy.unbuffered)
 * are never buffered.
 */
export function buffersAppResponses(spec: {
  app: { interface: AppInterface };
  proxy: { kind: ProxyKind };
}): boolean {
  return PROXIES[spec.proxy.kind].buffersResponses && !INTERFACE_BUFFERING[spec.app.interface].unbuffered;
}
