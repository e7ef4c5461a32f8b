// Frameworks as data: which interfaces each exposes, its usual entry point, and the app
// server an expert would pick for it by default.

import type { FrameworkEntry } from './types.js';
import type { Framework, ServerName } from '../../stack/schema.js';

export const FRAMEWORKS: Record<Framework, FrameworkEntry> = {
  flask: {
    name: 'flask',
    title: 'Flask',
    interfaces: ['wsgi'],
    defaultInterface: 'wsgi',
    defaultEntry: { wsgi: 'app:app' },
    defaultServer: { wsgi: 'gunicorn' },
    pythonModules: [{ module: 'flask', package: 'python3-flask' }],
  },
  django: {
    name: 'django',
    title: 'Django',
    interfaces: ['wsgi', 'asgi'],
    defaultInterface: 'wsgi',
    defaultEntry: { wsgi: 'mysite.wsgi:application', asgi: 'mysite.asgi:application' },
    defaultServer: { wsgi: 'gunicorn', asgi: 'gunicorn' },
    pythonModules: [{ module: 'django', package: 'python3-django' }],
  },
  bottle: {
    name: 'bottle',
    title: 'Bottle',
    interfaces: ['wsgi'],
    defaultInterface: 'wsgi',
    defaultEntry: { wsgi: 'app:app' },
    defaultServer: { wsgi: 'gunicorn' },
    pythonModules: [{ module: 'bottle', package: 'python3-bottle' }],
  },
  tornado: {
    name: 'tornado',
    title: 'Tornado',
    interfaces: ['tornado'],
    defaultInterface: 'tornado',
    defaultEntry: { tornado: 'app:make_app' },
    defaultServer: { tornado: 'tornado' },
    pythonModules: [{ module: 'tornado', package: 'python3-tornado' }],
  },
  fastapi: {
    name: 'fastapi',
    title: 'FastAPI',
    interfaces: ['asgi'],
    defaultInterface: 'asgi',
    defaultEntry: { asgi: 'main:app' },
    defaultServer: { asgi: 'gunicorn' },
    pythonModules: [{ module: 'fastapi', package: 'python3-fastapi' }],
  },
  starlette: {
    name: 'starlette',
    title: 'Starlette',
    interfaces: ['asgi'],
    defaultInterface: 'asgi',
    defaultEntry: { asgi: 'app:app' },
    defaultServer: { asgi: 'gunicorn' },
    pythonModules: [{ module: 'starlette', package: 'python3-starlette' }],
  },
  wsgi: {
    name: 'wsgi',
    title: 'a plain WSGI callable',
    interfaces: ['wsgi'],
    defaultInterface: 'wsgi',
    defaultEntry: { wsgi: 'app:application' },
    defaultServer: { wsgi: 'gunicorn' },
    pythonModules: [],
  },
  asgi: {
    name: 'asgi',
    title: 'a plain ASGI callable',
    interfaces: ['asgi'],
    defaultInterface: 'asgi',
    defaultEntry: { asgi: 'app:app' },
    defaultServer: { asgi: 'gunicorn' },
    pythonModules: [],
  },
  cgi: {
    name: 'cgi',
    title: 'a CGI script',
    interfaces: ['cgi'],
    defaultInterface: 'cgi',
    defaultEntry: { cgi: 'app.cgi' },
    defaultServer: { cgi: 'cgi' },
    pythonModules: [],
  },
  // A PHP app with a front controller (Laravel's and Symfony's public/index.php): app.root is
  // the document root, app.entry the controller every path that names no script runs.
  php: {
    name: 'php',
    title: 'a PHP app',
    interfaces: ['php'],
    defaultInterface: 'php',
    defaultEntry: { php: 'index.php' },
    defaultServer: { php: 'php-fpm' },
    pythonModules: [],
  },
};

/** The server a framework without a usual one for the asked interface gets (rules then explain a mismatch). */
export const FALLBACK_SERVER: ServerName = 'gunicorn';
