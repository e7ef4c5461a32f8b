// The gateway's process shell: one process, or a node:cluster primary with N workers.
// Signals: SIGTERM/SIGINT stop gracefully (stop accepting, drain for timeouts.shutdown, then
// cut), SIGHUP re-reads the config file and swaps it in without dropping connections. In a
// cluster the primary validates the new config and forwards SIGHUP to its workers, and
// restarts a worker that dies unexpectedly. Nothing here calls process.exit: the functions
// resolve with an exit code once every handle is closed.

import cluster, { type Worker } from 'node:cluster';
import { StackgenError } from '../errors.js';
import { type GatewayConfig, loadGatewayConfigFile } from './config.js';
import { createStderrLogger, type GatewayLogger } from './log.js';
import type { TransportFactory } from './gateway-state.js';
import { createGatewayServer } from './server.js';
import { loadTlsMaterial } from './tls.js';

export interface LifecycleOptions {
  createTransport: TransportFactory;
  /** Called once every worker listens, with the listen URLs and the worker count. */
  onListening: (urls: string[], workers: number) => void;
}

type WorkerMessage =
  | { type: 'listening'; urls: string[] }
  | { type: 'listen-failed'; message: string; hint: string | undefined };

type PrimaryMessage = { type: 'shutdown' };

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Extra time after the shutdown grace before a cluster primary SIGKILLs stuck workers. */
const KILL_MARGIN_MS = 5_000;
/** Delay before re-forking a worker that died, so a crash loop does not spin a core. */
const RESPAWN_DELAY_MS = 1_000;

/** Run the gateway in this process (single mode, or as one cluster worker). */
export async function runGatewayProcess(config: GatewayConfig, options: LifecycleOptions): Promise<number> {
  const isWorker = cluster.isWorker;
  const logger = createStderrLogger(isWorker ? `stackgen gateway[${process.pid}]` : 'stackgen gateway');
  let current = config;
  const server = createGatewayServer({ config, logger, createTransport: options.createTransport });
  let urls: string[];
  try {
    urls = await server.listen();
  } catch (err) {
    await server.shutdown(0);
    if (isWorker && err instanceof StackgenError) {
      send({ type: 'listen-failed', message: err.message, hint: err.hint });
      process.disconnect();
      return err.exitCode;
    }
    throw err;
  }
  if (isWorker) send({ type: 'listening', urls });
  else options.onListening(urls, 1);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      for (const sig of STOP_SIGNALS) process.off(sig, onStop);
      process.off('SIGHUP', onReload);
      process.off('message', onMessage);
      if (!isWorker) logger.info(`${why}: stopping (grace ${current.timeouts.shutdownMs} ms)`);
      void server.shutdown(current.timeouts.shutdownMs).then(() => {
        if (isWorker && process.connected) process.disconnect();
        resolve(0);
      });
    };
    const onStop = (signal: NodeJS.Signals) => stop(signal);
    const onReload = () => {
      void reloadFromFile(current, logger).then(async (next) => {
        if (next === null || stopping) return;
        try {
          await server.reload(next);
        } catch (err) {
          // A renewed certificate that does not load (half-written, wrong key): keep serving
          // the one that works rather than fail every new handshake.
          logger.error(
            `SIGHUP: keeping the running config: ${err instanceof Error ? err.message : String(err)}`,
          );
          return;
        }
        current = next;
        logger.info(`reloaded ${next.source}`);
      });
    };
    const onMessage = (msg: PrimaryMessage) => {
      if (msg?.type === 'shutdown') stop('shutdown requested by the primary');
    };
    for (const sig of STOP_SIGNALS) process.on(sig, onStop);
    process.on('SIGHUP', onReload);
    if (isWorker) {
      process.on('message', onMessage);
      // The primary is gone (killed): do not linger as an orphan holding the port.
      process.once('disconnect', () => stop('primary went away'));
    }
  });
}

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

/** Re-read the config file; null (and an error line) when it is missing or invalid. */
async function reloadFromFile(current: GatewayConfig, logger: GatewayLogger): Promise<GatewayConfig | null> {
  if (current.source === null) {
    logger.warn('SIGHUP: started from flags, there is no config file to re-read');
    return null;
  }
  try {
    const next = await loadGatewayConfigFile(current.source);
    // The primary checks the certificate too, so no worker is asked to reload a broken one.
    if (next.tls !== null) await loadTlsMaterial(next.tls);
    if (next.workers !== current.workers) logger.warn('workers changed: restart the gateway to apply it');
    return next;
  } catch (err) {
    logger.error(`SIGHUP: keeping the running config: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** Run a cluster primary that forks `workers` gateway workers and supervises them. */
export async function runGatewayPrimary(
  config: GatewayConfig,
  workers: number,
  options: LifecycleOptions,
): Promise<number> {
  const logger = createStderrLogger('stackgen gateway');
  let current = config;
  // A bad certificate or key is the primary's startup error (SG_ERR_GATEWAY_TLS, exit code
  // and hint intact), not N workers failing to listen.
  if (config.tls !== null) await loadTlsMaterial(config.tls);
  // Let the kernel spread accepted connections (each worker accept()s on the shared socket)
  // instead of the primary accepting and handing every connection over IPC (SCHED_RR): the
  // round-robin hop costs ~20% throughput on a proxied hello-world.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  const live = new Set<Worker>();

  const fork = (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      live.add(worker);
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'listening') resolve(msg.urls);
        else if (msg.type === 'listen-failed')
          reject(new StackgenError('SG_ERR_GATEWAY_LISTEN', msg.message, { hint: msg.hint }));
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        reject(
          new StackgenError('SG_ERR_GATEWAY_LISTEN', `worker exited during startup (${signal ?? code})`),
        );
        if (stopping) return;
        logger.error(`worker ${worker.process.pid} died (${signal ?? `exit ${code}`}); starting another`);
        setTimeout(() => {
          if (!stopping) fork().catch((err: Error) => logger.error(`respawn failed: ${err.message}`));
        }, RESPAWN_DELAY_MS).unref();
      });
    });

  const started = await Promise.allSettled(Array.from({ length: workers }, () => fork()));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    stopping = true;
    await stopWorkers(live, 0);
    throw failed.reason;
  }
  const first = started[0];
  options.onListening(first?.status === 'fulfilled' ? first.value : [], workers);

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      for (const sig of STOP_SIGNALS) process.off(sig, stop);
      process.off('SIGHUP', onReload);
      logger.info(`${signal}: stopping ${live.size} workers (grace ${current.timeouts.shutdownMs} ms)`);
      void stopWorkers(live, current.timeouts.shutdownMs + KILL_MARGIN_MS).then(() => resolve(0));
    };
    const onReload = () => {
      void reloadFromFile(current, logger).then((next) => {
        if (next === null || stopping) return;
        current = next;
        for (const w of live) w.process.kill('SIGHUP');
      });
    };
    for (const sig of STOP_SIGNALS) process.on(sig, stop);
    process.on('SIGHUP', onReload);
  });
}

/** Ask every worker to drain and exit; SIGKILL those still alive after `killAfterMs`. */
async function stopWorkers(live: Set<Worker>, killAfterMs: number): Promise<void> {
  const exits = [...live].map(
    (w) =>
      new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        if (w.isConnected()) w.send({ type: 'shutdown' } satisfies PrimaryMessage);
        else w.process.kill('SIGTERM');
      }),
  );
  const timer = setTimeout(() => {
    for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
  }, killAfterMs);
  await Promise.all(exits);
  clearTimeout(timer);
}
