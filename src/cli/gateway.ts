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

const FLAG_OPTIONS = ['listen', 'upstream', 'static', 'workers', 'maxBody'] as const;

/** Load the config the command line asks for: the file, or the flag form. */
async function configFromOptions(opts: Record<string, unknown>): Promise<GatewayConfig> {
  const file = opts['config'];
  if (typeof file === 'string') {
    const mixed = FLAG_OPTIONS.filter((k) => opts[k] !== undefined);
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
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.map(String) : v === undefined ? undefined : [String(v)];
  return gatewayConfigFromFlags(
    {
      listen: strings(opts['listen']),
      upstream: strings(opts['upstream']),
      static: strings(opts['static']),
      workers: opts['workers'] === undefined ? undefined : String(opts['workers']),
      maxBody: opts['maxBody'] === undefined ? undefined : String(opts['maxBody']),
    },
    process.cwd(),
  );
}

export async function run(_positionals: unknown[], opts: Record<string, unknown>): Promise<number> {
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
