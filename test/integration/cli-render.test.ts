// Drives the real CLI (bin/stackgen.js → dist/, built by `npm ci`'s prepare step).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'stackgen.js');

function stackgen(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('stackgen CLI: render, init, explain, schema', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT });
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders an example and reports every file', () => {
    const out = join(dir, 'flask');
    const r = stackgen(['render', 'examples/flask-uwsgi-nginx.yaml', '--out', out, '--cores', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('uwsgi/flask-uwsgi.ini');
    expect(readFileSync(join(out, 'uwsgi', 'flask-uwsgi.ini'), 'utf8')).toContain('die-on-term = true');
  });

  it('exits 78 with file:line:col and writes nothing for an invalid spec', () => {
    const spec = join(dir, 'bad.yaml');
    writeFileSync(spec, 'app:\n  framework: flask\nserve:\n  server: gunicron\n');
    const out = join(dir, 'bad-out');
    const r = stackgen(['render', spec, '--out', out]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${spec}:4:11: error:`);
    expect(r.stderr).toContain('did you mean `gunicorn`?');
    expect(existsSync(out)).toBe(false);
  });

  it('exits 4 naming the file when a generated file was edited, and --force overwrites it', () => {
    const out = join(dir, 'edited');
    expect(stackgen(['render', 'examples/default.yaml', '--out', out]).code).toBe(0);
    const file = join(out, 'gateway', 'default.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}# my tweak\n`);
    const r = stackgen(['render', 'examples/default.yaml', '--out', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(file);
    expect(readFileSync(file, 'utf8')).toContain('# my tweak');
    expect(stackgen(['render', 'examples/default.yaml', '--out', out, '--force']).code).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain('# my tweak');
  });

  it('init --yes writes a valid stack.yaml and renders it', () => {
    const project = join(dir, 'proj');
    mkdirSync(project);
    writeFileSync(join(project, 'main.py'), 'from fastapi import FastAPI\napp = FastAPI()\n');
    const r = stackgen([
      'init',
      project,
      '--framework',
      'fastapi',
      '--proxy',
      'gateway',
      '--manager',
      'supervisor',
      '--name',
      'api',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(project, 'stack.yaml'), 'utf8')).toContain('framework: fastapi');
    expect(existsSync(join(project, 'deploy', 'supervisor', 'api.conf'))).toBe(true);
  });

  it('init takes every field a first stack needs as a flag', () => {
    const project = join(dir, 'flags');
    mkdirSync(join(project, 'src', 'assets'), { recursive: true });
    writeFileSync(join(project, 'src', 'app.py'), 'from flask import Flask\napp = Flask(__name__)\n');
    const r = stackgen([
      'init',
      project,
      '--yes',
      '--no-render',
      '--root',
      'src',
      '--static',
      '/assets/=assets',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      '--writable',
      'data',
      '--listen',
      '8080',
      '--listen',
      '[::1]:8080',
      '--server-name',
      'shop.example',
      '--python',
      '/usr/bin/python3',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const spec = parse(readFileSync(join(project, 'stack.yaml'), 'utf8'));
    expect(spec.app).toMatchObject({
      framework: 'flask',
      entry: 'app:app',
      root: 'src',
      static: { '/assets/': 'assets' },
      env: { A: '1', B: 'x=y' },
      writable: ['data'],
      python: '/usr/bin/python3',
    });
    expect(spec.proxy).toMatchObject({ listen: ['8080', '[::1]:8080'], server_name: 'shop.example' });
    expect(stackgen(['init', join(dir, 'bad-env'), '--env', 'NOEQUALS', '--yes']).code).toBe(2);
  });

  it('init refuses an impossible combination with exit 78', () => {
    const r = stackgen(['init', join(dir, 'nope'), '--framework', 'flask', '--server', 'uvicorn', '--yes']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('WsgiToAsgi');
  });

  it('init --yes refuses an entry point that names no file (exit 78), and an existing stack.yaml (exit 4)', () => {
    const empty = join(dir, 'empty');
    const r = stackgen(['init', empty, '--framework', 'flask', '--yes']);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/no .*app\.py .*for app:app/);
    expect(existsSync(join(empty, 'stack.yaml'))).toBe(false);
    const again = stackgen(['init', join(dir, 'proj'), '--yes']);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already exists; nothing was written/);
  });

  it('explain draws each hop with its protocol, as text and mermaid', () => {
    const text = stackgen(['explain', 'examples/wsgi-scgi-nginx.yaml']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/SCGI unix:\/run\/wsgi-scgi\/wsgi-scgi\.sock/);
    const mermaid = stackgen(['explain', 'examples/wsgi-scgi-nginx.yaml', '--format', 'mermaid']);
    expect(mermaid.stdout).toMatch(/^flowchart LR/);
  });

  it('schema prints the committed JSON Schema', () => {
    const r = stackgen(['schema']);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'schema', 'stack.schema.json'), 'utf8'));
  });

  it('unknown flags are usage errors (exit 2)', () => {
    expect(stackgen(['render', '--bogus']).code).toBe(2);
  });
});
