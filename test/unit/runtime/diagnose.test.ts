// Each diagnosis rule, fed a log line captured from the real program.

import { describe, expect, it } from 'vitest';
import {
  explainPermission,
  likelyCause,
  type NotReadyFacts,
  type PathFact,
  permits,
} from '../../../src/runtime/diagnose.js';

const WWW = { user: 'www-data', uid: 33, gids: [33] };
const dir = (
  path: string,
  mode: number,
  uid: number,
  gid: number,
  owner: string,
  group: string,
): PathFact => ({
  path,
  exists: true,
  mode,
  uid,
  gid,
  owner,
  group,
});

function facts(over: Partial<NotReadyFacts>): NotReadyFacts {
  return {
    component: 'app',
    program: 'gunicorn',
    logTail: '',
    errorLog: '',
    exit: null,
    socketPath: [],
    proxy: WWW,
    portHolder: null,
    entry: 'app:app',
    appRoot: '/srv/app',
    lastStatus: null,
    ...over,
  };
}

describe('permits', () => {
  it('uses the owner, group or other bits, root passes', () => {
    const f = dir('/run/x', 0o750, 0, 33, 'root', 'www-data');
    expect(permits(f, WWW, { exec: true })).toBe(true);
    expect(permits(f, { user: 'nobody', uid: 65534, gids: [65534] }, { exec: true })).toBe(false);
    expect(permits(f, { user: 'root', uid: 0, gids: [0] }, { write: true })).toBe(true);
  });
});

describe('likelyCause', () => {
  it('names the directory that stops the proxy user on EACCES', () => {
    const errorLog =
      '2026/11/21 05:51:48 [crit] 1#1: *2 connect() to unix:/tmp/s/run/app.sock failed (13: Permission denied) while connecting to upstream';
    const socketPath = [
      dir('/tmp/s', 0o755, 0, 0, 'root', 'root'),
      dir('/tmp/s/run', 0o750, 65534, 65534, 'nobody', 'nogroup'),
      dir('/tmp/s/run/app.sock', 0o140660, 65534, 65534, 'nobody', 'nogroup'),
    ];
    expect(likelyCause(facts({ component: 'nginx', program: 'nginx', errorLog, socketPath }))).toBe(
      'nginx worker (user www-data) cannot connect to unix:/tmp/s/run/app.sock: permission denied — the directory /tmp/s/run is mode 750 owned by nobody:nogroup, and www-data is neither nobody nor in group nogroup',
    );
  });

  it('names a socket whose mode shuts the proxy out', () => {
    const socket = [
      dir('/tmp/s', 0o755, 0, 0, 'root', 'root'),
      dir('/tmp/s/app.sock', 0o140660, 0, 0, 'root', 'root'),
    ];
    expect(explainPermission(socket, WWW)).toBe(
      'the socket /tmp/s/app.sock is mode 660 owned by root:root, and www-data is neither root nor in group root',
    );
  });

  it('says the proxy points at a socket nobody creates (ENOENT)', () => {
    const errorLog =
      'connect() to unix:/tmp/s/run/other.sock failed (2: No such file or directory) while connecting';
    expect(likelyCause(facts({ errorLog }))).toMatch(
      /cannot connect to unix:\/tmp\/s\/run\/other\.sock: no such file/,
    );
  });

  it('reads a missing module from a Python traceback', () => {
    const logTail =
      'Traceback (most recent call last):\n  File "x"\nModuleNotFoundError: No module named \'nope\'\n';
    expect(likelyCause(facts({ logTail }))).toMatch(
      /gunicorn cannot import module 'nope' \(app.entry app:app/,
    );
  });

  it('reports the last exception of any other traceback', () => {
    const logTail =
      "Traceback (most recent call last):\nUnboundLocalError: cannot access local variable 'tornado'\n";
    expect(likelyCause(facts({ logTail }))).toBe(
      "gunicorn failed at start-up: UnboundLocalError: cannot access local variable 'tornado' (Python traceback in the log)",
    );
  });

  it('reports an address in use with its holder', () => {
    const errorLog = 'nginx: [emerg] bind() to 127.0.0.1:8080 failed (98: Address already in use)';
    expect(likelyCause(facts({ component: 'nginx', errorLog, portHolder: 'pid 7 (python3)' }))).toBe(
      'nginx cannot listen on 127.0.0.1:8080: the address is already in use by pid 7 (python3)',
    );
  });

  it('falls back to how the process ended', () => {
    expect(likelyCause(facts({ exit: { code: 3, signal: null, reason: 'exited' } }))).toBe(
      'app exited with code 3 during start-up',
    );
  });
});
