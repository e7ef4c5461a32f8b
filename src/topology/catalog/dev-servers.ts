// Development servers as data: the servers frameworks ship for a developer's laptop, which a
// stack.yaml may name where a production server belongs (serve.server) or inside a command
// (app.entry). stackgen refuses them with the reason their own documentation gives, and names
// the production server to use instead. wsgiref (servers.ts) is a different case: stackgen
// runs it itself for the embedded default, with a warning, never a reloader.

/** A development server, how stack.yaml text names it, and why it is not for production. */
export interface DevServer {
  /** What it is called in the refusal (`manage.py runserver`). */
  title: string;
  /** Does a stack.yaml value name it? (a whole serve.server value, or a command in app.entry) */
  pattern: RegExp;
  /** Why it is refused: the process model, recycling, the reloader — its docs' own words. */
  why: string;
  /** What to write instead. */
  instead: string;
}

export const DEV_SERVERS: readonly DevServer[] = [
  {
    title: "Django's runserver (`manage.py runserver`)",
    pattern: /\brunserver\b/i,
    // docs.djangoproject.com, django-admin runserver: "DO NOT USE THIS SERVER IN A PRODUCTION
    // SETTING. It has not gone through security audits or performance tests."
    why: "Django's docs: do not use it in production (no security audit, no performance tests). It is one process with a thread per request and no bound, recycles no worker, and its autoreloader restarts the whole server whenever a Python file changes",
    instead:
      'serve.server: gunicorn (or uwsgi), app.framework: django, app.entry: <project>.wsgi:application (or .asgi:application with uvicorn)',
  },
  {
    title: 'the Flask development server (`flask run`, `app.run()`)',
    pattern: /\bflask\s+run\b|^flask$|\bapp\.run\s*\(|\brun_simple\b|^werkzeug$/i,
    // flask.palletsprojects.com, "Deploying to Production": "Do not use the development server
    // when deploying to production. It is intended for use only during local development."
    why: "Flask's docs: the development server is for local development only. Werkzeug's run_simple is one process (a thread per request, no bound), recycles no worker, and with --debug it turns on the reloader and the interactive debugger, which runs Python for whoever reaches it",
    instead: 'serve.server: gunicorn (or uwsgi), app.framework: flask, app.entry: <module>:app',
  },
  {
    title: 'a server with its reloader on (`--reload`, e.g. `uvicorn --reload`)',
    pattern: /(^|\s)--reload\b/,
    // uvicorn's docs (Settings, Development): --reload "Enable auto-reload" — it runs one
    // worker under a file watcher, and --reload and --workers are mutually exclusive.
    why: 'the reloader watches the source tree and restarts the server on every change: one worker under a file watcher (uvicorn refuses --reload with --workers), so a deploy that touches files restarts it mid-request, and nothing recycles or supervises the worker',
    instead:
      'name the server in serve.server (uvicorn, gunicorn, …) and leave the command to stackgen; `stackgen install` deploys new code with a graceful reload',
  },
  {
    title: "Python's http.server (`python -m http.server`)",
    pattern: /\bhttp\.server\b|\bSimpleHTTPServer\b/,
    why: "Python's docs: http.server is not recommended for production, it only implements basic security checks; it serves files, one process, no recycling",
    instead:
      'serve static files with app.static (the proxy serves them) and the app with a production server',
  },
];

/** The development server a stack.yaml value names, or null. Pure. */
export function devServerNamed(value: string): DevServer | null {
  return DEV_SERVERS.find((d) => d.pattern.test(value.trim())) ?? null;
}
