// --import: what django.setup() printed, folded into the detection (pure).

import { describe, expect, it } from 'vitest';
import type { Detection } from '../../../src/init/detect.js';
import { SETTINGS_IMPORTERS } from '../../../src/init/imported.js';

const textual: Detection = {
  framework: 'django',
  entry: 'mysite.wsgi:application',
  root: '.',
  env: { DJANGO_SETTINGS_MODULE: 'mysite.prod' },
  static: {},
  writable: [],
  websockets: false,
  dependsOn: [],
  evidence: ['manage.py: DJANGO_SETTINGS_MODULE=mysite.prod'],
  notes: ['mysite/prod.py: STATIC_URL /static/ but no STATIC_ROOT init can read: set STATIC_ROOT'],
};

const apply = SETTINGS_IMPORTERS.django!.apply;

describe('Django settings loaded by django.setup()', () => {
  it('STATIC_ROOT and MEDIA_ROOT from the environment, made relative to root; the SQLite directory writable', () => {
    const d = apply(
      textual,
      {
        STATIC_URL: 'static/',
        STATIC_ROOT: '/srv/shop/collected',
        MEDIA_URL: '/media/',
        MEDIA_ROOT: '/srv/shop/uploads',
        DB_ENGINE: 'django.db.backends.sqlite3',
        DB_NAME: '/srv/shop/var/db.sqlite3',
        INSTALLED_APPS: ['django.contrib.admin'],
        ALLOWED_HOSTS: ['shop.example'],
        DEBUG: false,
      },
      '/srv/shop',
      (p) => p === 'uploads',
    );
    expect(d.static).toEqual({ '/static/': 'collected', '/media/': 'uploads' });
    expect(d.writable).toEqual(['uploads', 'var']);
    expect(d.notes).toEqual([]);
    expect(d.allowedHosts?.hosts).toEqual(['shop.example']);
  });

  it('channels → the ASGI application with WebSockets; a database beside the code is a note, never a writable root', () => {
    const d = apply(
      textual,
      {
        INSTALLED_APPS: ['channels'],
        DB_ENGINE: 'django.db.backends.sqlite3',
        DB_NAME: '/srv/shop/db.sqlite3',
        ALLOWED_HOSTS: [],
        DEBUG: true,
      },
      '/srv/shop',
      () => false,
    );
    expect([d.interface, d.entry, d.websockets]).toEqual(['asgi', 'mysite.asgi:application', true]);
    expect(d.writable).toEqual([]);
    expect(d.notes.join('\n')).toMatch(/beside the code/);
    expect(d.allowedHosts?.hosts).toEqual(['.localhost', '127.0.0.1', '[::1]']);
  });
});
