// The proposal: each choice with its reason, read from the catalog; a flag wins over the
// proposal and later proposals follow it; every proposed stack passes the rules `check` runs.

import { describe, expect, it } from 'vitest';
import type { Detection } from '../../../src/init/detect.js';
import { hostNote, proposeChoices, stackDocument } from '../../../src/init/propose.js';
import { parseStackSpec } from '../../../src/stack/parse.js';
import { stringify } from 'yaml';

function detection(over: Partial<Detection>): Detection {
  return {
    framework: 'flask',
    entry: 'app:app',
    root: '.',
    env: {},
    static: {},
    writable: [],
    websockets: false,
    dependsOn: [],
    evidence: ['app.py: `app = Flask(…)` → entry app:app'],
    notes: [],
    ...over,
  };
}

function valid(d: Detection, given = {}) {
  const { choices } = proposeChoices(d, given);
  const doc = stackDocument('app', choices, { ...d, entry: d.entry });
  return parseStackSpec(stringify(doc));
}

describe('proposeChoices', () => {
  it('names a reason for every step, in the order a request meets them', () => {
    const { choices, reasons } = proposeChoices(detection({}), {});
    expect(reasons.map((r) => r.key)).toEqual([
      'framework',
      'interface',
      'server',
      'concurrency',
      'protocol',
      'proxy',
      'manager',
    ]);
    expect(choices).toMatchObject({
      framework: 'flask',
      interface: 'wsgi',
      server: 'gunicorn',
      protocol: 'http',
    });
    expect(reasons.find((r) => r.key === 'server')!.why).toMatch(/usual server for Flask/);
  });

  it('a server the requirements name wins when it serves the interface', () => {
    const fastapi = detection({ framework: 'fastapi', entry: 'main:app', dependsOn: ['uvicorn'] });
    const { choices, reasons } = proposeChoices(fastapi, {});
    expect(choices.server).toBe('uvicorn');
    expect(reasons.find((r) => r.key === 'server')!.why).toMatch(/requirements name Uvicorn/);
    // uWSGI in a FastAPI project's requirements serves no ASGI: the usual server stays.
    expect(proposeChoices({ ...fastapi, dependsOn: ['uwsgi'] }, {}).choices.server).toBe('gunicorn');
    expect(valid(fastapi).errors).toEqual([]);
  });

  it('Django with Channels: ASGI, and a concurrency model that holds WebSockets', () => {
    const channels = detection({
      framework: 'django',
      interface: 'asgi',
      entry: 'mysite.asgi:application',
      websockets: true,
      env: { DJANGO_SETTINGS_MODULE: 'mysite.settings' },
    });
    const { choices } = proposeChoices(channels, {});
    expect(choices).toMatchObject({ interface: 'asgi', concurrency: 'async' });
    expect(valid(channels).errors).toEqual([]);
  });

  it('a flag wins, and the later proposals follow it', () => {
    const { choices, reasons } = proposeChoices(detection({}), { server: 'uwsgi' });
    expect(choices).toMatchObject({ server: 'uwsgi', protocol: 'uwsgi' });
    expect(reasons.find((r) => r.key === 'server')!.why).toBe('--server uwsgi');
  });

  it('nothing detected: a plain WSGI callable, said so', () => {
    const { choices, reasons } = proposeChoices(null, {});
    expect(choices.framework).toBe('wsgi');
    expect(reasons[0]!.why).toMatch(/nothing recognizable/);
  });
});

describe('hostNote', () => {
  const django = detection({
    allowedHosts: { hosts: ['.localhost', '127.0.0.1', '[::1]'], where: 'settings.py' },
  });
  it("says when the app's own host check refuses --server-name", () => {
    expect(hostNote(django, 'shop.example')).toMatch(/does not allow shop\.example.*add 'shop\.example'/);
    expect(hostNote(django, '_')).toBeNull();
    expect(hostNote(django, undefined)).toBeNull();
    expect(
      hostNote(detection({ allowedHosts: { hosts: ['.example'], where: 's' } }), 'shop.example'),
    ).toBeNull();
    expect(hostNote(detection({}), 'shop.example')).toBeNull();
  });
});
