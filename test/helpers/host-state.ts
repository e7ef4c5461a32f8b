// What a machine-target run must leave as it found it on this host: a marker file in /tmp
// (the machine's boot empties ITS /tmp, never ours), the overlay mounts, and no process of
// a machine (holder shell, PID 1) still alive.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { machineProcesses } from '../../src/runtime/machine.js';
import { sleep } from '../../src/runtime/process.js';

export interface HostSnapshot {
  marker: string;
  content: string;
  overlays: string;
}

/** Overlay mounts of this host, as findmnt lists them. */
export function overlayMounts(): string {
  try {
    return execFileSync('findmnt', ['-rn', '-t', 'overlay', '-o', 'TARGET'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** Put a marker file into the host's /tmp and note the mounts. */
export function snapshotHost(name: string): HostSnapshot {
  const marker = `/tmp/stackgen-host-marker-${name}-${process.pid}`;
  const content = `marker ${Date.now()}\n`;
  writeFileSync(marker, content);
  // hostChanges removes it; this covers a suite that never gets there (a failed beforeAll or
  // dispose, a skipped describe whose body still ran).
  process.once('exit', () => rmSync(marker, { force: true }));
  return { marker, content, overlays: overlayMounts() };
}

/**
 * What changed since the snapshot (empty when nothing did); removes the marker. `owners`:
 * the processes whose machines must be gone (test files run side by side, each with its own).
 */
export async function hostChanges(s: HostSnapshot, owners: number[] = [process.pid]): Promise<string[]> {
  const changes: string[] = [];
  // A machine's processes die with their PID 1; give the kernel a moment to reap them.
  for (let i = 0; i < 100 && machineProcesses(owners).length > 0; i++) await sleep(50);
  const left = machineProcesses(owners);
  if (left.length > 0) changes.push(`machine processes still alive: ${left.join(', ')}`);
  // What a machine stages lives in its layer; a tool that resolved /proc/PID/root to the
  // host's own / would have written here instead.
  for (const leak of ['/srv/stackgen-verify', '/srv/conformance', '/srv/install-test'])
    if (existsSync(leak))
      changes.push(`${leak} exists on this host: a machine's file leaked out of its layer`);
  if (!existsSync(s.marker)) changes.push(`${s.marker} is gone: the host's /tmp was emptied`);
  else if (readFileSync(s.marker, 'utf8') !== s.content) changes.push(`${s.marker} changed`);
  // The holder mounts in its own namespace: this host's mount table never changes at all.
  if (overlayMounts() !== s.overlays) changes.push(`overlay mounts changed: ${overlayMounts()}`);
  rmSync(s.marker, { force: true });
  return changes;
}

/**
 * What Debian's default nginx site answers on a machine booted from this host: nginx's own
 * page, or Apache's when apache2 is installed too (its postinst writes /var/www/html/index.html,
 * which comes first in the default site's `index` list).
 */
export const DEBIAN_DEFAULT_SITE = /^200 .*(Welcome to nginx!|Apache2 Debian Default Page)/s;
