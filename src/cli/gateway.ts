// `stackgen gateway`: run the gateway from a config file (--config) or from flags, in one
// process or as a cluster of workers, until SIGTERM/SIGINT. Resolves with the exit code.

import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { StackgenError } from '../errors.js';
import {
  autoGatewayWorkers,
  type GatewayConfig,
  gatewayConfigFromFlags,
  loadGatewayConfigFile,
} from '../gateway/config.js';
import { runGatewayPrimary, runGatewayProcess } from '../gateway/lifecycle.js';
import { createTransport } from '../gateway/transports/registry.js';

/** `stackgen gateway`'s options, as commander parses them: a config file, or the flag form. */
export interface GatewayCliOptions {
  config?: string;
  listen?: string[];
  upstream?: string[];
  static?: string[];
  workers?: string;
  maxBody?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsListen?: string[];
  /** commander's `--no-tls-redirect-http`: true unless the flag was given. */
  tlsRedirectHttp?: boolean;
  tlsHstsMaxAge?: string;
  tlsHstsIncludeSubdomains?: boolean;
  tlsHstsPreload?: boolean;
  /** commander's `--no-tls-http2`: true unless the flag was given. */
  tlsHttp2?: boolean;
  env?: string[];
  maxHeaderSize?: string;
}

const FLAG_OPTIONS = [
  'listen',
  'upstream',
  'static',
  'workers',
  'maxBody',
  'tlsCert',
  'tlsKey',
  'tlsListen',
  'tlsHstsMaxAge',
  'tlsHstsIncludeSubdomains',
  'tlsHstsPreload',
  'env',
  'maxHeaderSize',
] as const satisfies ReadonlyArray<keyof GatewayCliOptions>;

/** A `--no-x` flag counts as given only when it was (commander defaults it to true). */
const negated = (value: boolean | undefined): false | undefined => (value === false ? false : undefined);

/** Load the config the command line asks for: the file, or the flag form. */
async function configFromOptions(opts: GatewayCliOptions): Promise<GatewayConfig> {
  const file = opts.config;
  if (file !== undefined) {
    const mixed: string[] = FLAG_OPTIONS.filter((k) => opts[k] !== undefined);
    if (opts.tlsRedirectHttp === false) mixed.push('noTlsRedirectHttp');
    if (opts.tlsHttp2 === false) mixed.push('noTlsHttp2');
    if (mixed.length > 0)
      throw new StackgenError(
        'SG_ERR_USAGE',
        `gateway: --config cannot be combined with --${mixed.join(', --')}`,
        {
          hint: 'put those settings in the config file',
        },
      );
    return loadGatewayConfigFile(file);
  }
  return gatewayConfigFromFlags(
    {
      listen: opts.listen,
      upstream: opts.upstream,
      static: opts.static,
      workers: opts.workers,
      maxBody: opts.maxBody,
      tlsCert: opts.tlsCert,
      tlsKey: opts.tlsKey,
      tlsListen: opts.tlsListen,
      tlsRedirectHttp: negated(opts.tlsRedirectHttp),
      tlsHstsMaxAge: opts.tlsHstsMaxAge,
      tlsHstsIncludeSubdomains: opts.tlsHstsIncludeSubdomains,
      tlsHstsPreload: opts.tlsHstsPreload,
      tlsHttp2: negated(opts.tlsHttp2),
      env: opts.env,
      maxHeaderSize: opts.maxHeaderSize,
    },
    process.cwd(),
  );
}

export async function run(opts: GatewayCliOptions): Promise<number> {
  const config = await configFromOptions(opts);
  const workers = config.workers === 'auto' ? autoGatewayWorkers(availableParallelism()) : config.workers;
  const options = {
    createTransport,
    onListening: (urls: string[], n: number) =>
      process.stdout.write(
        `stackgen gateway listening on ${urls.join(', ')} (${n} worker${n === 1 ? '' : 's'})\n`,
      ),
  };
  if (cluster.isPrimary && workers > 1) return runGatewayPrimary(config, workers, options);
  return runGatewayProcess(config, options);
}
