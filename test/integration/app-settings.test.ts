// `stackgen check`'s app-settings: the Django settings module named by the stack's
// DJANGO_SETTINGS_MODULE is imported by the stack's interpreter and compared with the
// stack — a disagreement is a warning naming the file, the setting and the fix; the
// example's own settings give none.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStack } from '../../src/check/stack.js';
import { loadAndResolve } from '../../src/cli/shared.js';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'stackgen-app-settings-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function settingsResult(file: string) {
  const l = loadAndResolve(file, { cores: 2, quiet: true });
  const report = await checkStack(l, { concurrency: 2 });
  return report.results.find((r) => r.step.check === 'app-settings');
}

describe('check: app-settings', () => {
  it('warns where a Django settings module disagrees with the stack, and does not fail', async () => {
    const file = join(work, 'disagrees.yaml');
    writeFileSync(
      file,
      `name: disagrees
app:
  framework: django
  entry: mysite.wsgi:application
  root: ${join(ROOT, 'test/fixtures/django-settings')}
  env: {DJANGO_SETTINGS_MODULE: disagrees.settings}
serve: {server: gunicorn}
proxy: {kind: nginx, server_name: shop.example, max_body: 10m}
processes: {manager: none}
`,
    );
    const r = await settingsResult(file);
    expect(r?.status).toBe('pass');
    expect(r?.warnings).toHaveLength(2);
    expect(r?.warnings[0]).toMatch(
      /disagrees\/settings\.py: ALLOWED_HOSTS = \["www\.shop\.example"\] does not allow shop\.example \(proxy\.server_name\).*add \["shop\.example"\] to ALLOWED_HOSTS/,
    );
    expect(r?.warnings[1]).toMatch(
      /DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440 is below proxy\.max_body 10m.*set it to 10485760/,
    );
  }, 60_000);

  it('a project mounted under app.mount: FORCE_SCRIPT_NAME and an absolute STATIC_URL outside it are named', async () => {
    const file = join(work, 'mounted.yaml');
    writeFileSync(
      file,
      `name: mounted
app:
  framework: django
  entry: mysite.wsgi:application
  root: ${join(ROOT, 'test/fixtures/django-settings')}
  mount: /shop
  env: {DJANGO_SETTINGS_MODULE: mounted.settings}
serve: {server: gunicorn}
proxy: {kind: nginx, server_name: shop.example, max_body: 2m}
processes: {manager: none}
`,
    );
    const r = await settingsResult(file);
    expect(r?.status).toBe('pass');
    expect(r?.warnings).toHaveLength(2);
    expect(r?.warnings[0]).toMatch(
      /mounted\/settings\.py: FORCE_SCRIPT_NAME = "\/" but app\.mount is \/shop/,
    );
    expect(r?.warnings[1]).toMatch(
      /STATIC_URL = "\/static\/" is outside app\.mount \/shop.*set STATIC_URL = "static\/"/,
    );
  }, 60_000);

  it("the example's settings agree with its stack: no warning", async () => {
    const r = await settingsResult(join(ROOT, 'examples/django-gunicorn-nginx.yaml'));
    expect(r).toMatchObject({ status: 'pass', actual: 'agree with the stack', warnings: [] });
  }, 60_000);

  it('a settings module that does not import is a warning, not a failure', async () => {
    const file = join(work, 'missing.yaml');
    writeFileSync(
      file,
      `name: missing
app:
  framework: django
  root: ${join(ROOT, 'test/fixtures/django-settings')}
  env: {DJANGO_SETTINGS_MODULE: nowhere.settings}
serve: {server: uwsgi}
proxy: {kind: nginx, server_name: shop.example}
processes: {manager: none}
`,
    );
    const r = await settingsResult(file);
    expect(r?.status).toBe('pass');
    expect(r?.warnings[0]).toMatch(/cannot import nowhere\.settings .*ModuleNotFoundError/);
  }, 60_000);
});
