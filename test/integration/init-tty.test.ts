// `stackgen init` on a terminal: a pseudo-terminal from util-linux `script`, keys typed as a
// user types them. The detected values are preselected, a refused answer is asked again with
// the reason, and Ctrl-C leaves nothing written.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/tools.js';
import { ROOT } from '../helpers/verify-cli.js';

const DOWN = '\x1b[B';
const ENTER = '\r';
const CTRL_C = '\x03';
const BACKSPACE = '\x7f';

/** The screen's text without escape sequences and carriage returns. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

interface Session {
  child: ChildProcess;
  /** Wait until the screen since the last wait shows `pattern`, then type `keys`. */
  expectThenType(pattern: RegExp, keys: string): Promise<void>;
  done: Promise<{ code: number | null; screen: string }>;
}

function initOnTerminal(args: string[]): Session {
  const cmd = [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts'), 'init', ...args]
    .map((a) => `'${a}'`)
    .join(' ');
  // -e: script exits with the command's status; -f: flush at once, so prompts arrive whole.
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let seen = 0;
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    screen += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const done = new Promise<{ code: number | null; screen: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, screen: plain(screen) })),
  );
  return {
    child,
    done,
    expectThenType: async (pattern, keys) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const rest = plain(screen.slice(seen));
        const m = pattern.exec(rest);
        if (m) {
          seen = screen.length;
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}; screen:\n${plain(screen)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      // Let the prompt finish drawing before the keys arrive.
      await new Promise((r) => setTimeout(r, 150));
      child.stdin!.write(keys);
    },
  };
}

const base = mkdtempSync(join(tmpdir(), 'sg-init-tty-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function flaskProject(name: string): string {
  const dir = join(base, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'hello.py'), 'from flask import Flask\n\nweb = Flask(__name__)\n');
  return dir;
}

describeWith({ tools: ['script'] })('stackgen init on a terminal', () => {
  it('asks with the detected values preselected and asks again after a refused answer', {
    timeout: 90_000,
  }, async () => {
    const dir = flaskProject('asked');
    const s = initOnTerminal([dir, '--no-render']);
    await s.expectThenType(/Stack name/, ENTER);
    // Preselected: the detected framework.
    await s.expectThenType(/Framework[\s\S]*❯ flask/, ENTER);
    // A wrong entry point: refused in place with the reason, then erased and the default taken.
    await s.expectThenType(/Entry point[\s\S]*hello:web/, `nope:app${ENTER}`);
    await s.expectThenType(/no nope\.py/, `${BACKSPACE.repeat(8)}${ENTER}`);
    // gunicorn is preselected; one down is uvicorn, which the rules refuse for a WSGI app.
    await s.expectThenType(/App server[\s\S]*❯ gunicorn/, `${DOWN}${ENTER}`);
    await s.expectThenType(/✗ server uvicorn: .*WsgiToAsgi[\s\S]*choose again[\s\S]*App server/, ENTER);
    await s.expectThenType(/Concurrency model/, ENTER);
    await s.expectThenType(/Proxy/, ENTER);
    await s.expectThenType(/Process manager/, ENTER);
    const { code, screen } = await s.done;
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/wrote .*stack\.yaml/);
    const text = readFileSync(join(dir, 'stack.yaml'), 'utf8');
    expect(text).toMatch(/framework: flask/);
    expect(text).toMatch(/entry: hello:web/);
    expect(text).toMatch(/server: gunicorn/);
  });

  it('Ctrl-C leaves nothing written', { timeout: 60_000 }, async () => {
    const dir = flaskProject('interrupted');
    const s = initOnTerminal([dir, '--no-render']);
    await s.expectThenType(/Stack name/, ENTER);
    await s.expectThenType(/Framework/, CTRL_C);
    const { code, screen } = await s.done;
    expect(code, screen).toBe(1);
    expect(screen).toMatch(/SG_ERR_INTERRUPTED: init was interrupted; nothing was written/);
    expect(existsSync(join(dir, 'stack.yaml'))).toBe(false);
  });
});
