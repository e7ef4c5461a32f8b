// The live progress view on stderr while verify runs: each component starting and ready,
// each probe as it finishes. One line per event (readable in CI logs as in a terminal).

import type { ProgressEvent } from './types.js';

const MARK = { pass: '✓', fail: '✗', skip: '–' } as const;

/** A progress writer for `stream` (stderr). */
export function progressPrinter(stream: NodeJS.WritableStream): (e: ProgressEvent) => void {
  const write = (line: string) => stream.write(`${line}\n`);
  return (e) => {
    switch (e.type) {
      case 'stack':
        write(`▶ ${e.name} (${e.file})`);
        break;
      case 'pass':
        write(`  ${e.app === 'probe-app' ? 'with the probe app' : 'with your app'} in ${e.dir}`);
        break;
      case 'unit': {
        const { unit, phase, ms, detail } = e.event;
        if (phase === 'ready') write(`  ● ${unit} ready (${ms} ms)`);
        else if (phase === 'starting') write(`  ○ ${unit} starting`);
        else if (phase === 'failed') write(`  ✗ ${unit}: ${detail}`);
        else if (phase === 'stopped') write(`  ○ ${unit} stopped (${ms} ms)`);
        break;
      }
      case 'probe':
        write(
          `    ${MARK[e.result.status]} ${e.result.key} — ${e.result.actual} (${e.result.durationMs} ms)`,
        );
        break;
      case 'not-ready':
        write(`  ✗ NOT READY: ${e.component}: ${e.cause}`);
        break;
      case 'step':
        write(`  ${e.text}`);
        break;
      default:
        break;
    }
  };
}
