// Where each generated file goes inside the config dir. Data: a server or proxy that reads
// a file of its own adds its line here, and its recipe (recipes.ts) names the key.

/** The module of the loader a WSGI-file entry is served through (python/<it>.py in the config dir). */
export const WSGI_LOADER_MODULE = 'stackgen_wsgi_file';

/** Paths of generated files inside the config dir, relative — the artifact paths. */
export function relativeFiles(name: string) {
  return {
    nginxConf: 'nginx/nginx.conf',
    nginxSite: `nginx/${name}.conf`,
    uwsgiIni: `uwsgi/${name}.ini`,
    gunicornConf: `gunicorn/${name}.conf.py`,
    phpFpmConf: `php-fpm/${name}.conf`,
    gatewayConfig: `gateway/${name}.yaml`,
    lighttpdConf: `lighttpd/${name}.conf`,
    apacheConf: 'apache/apache2.conf',
    apacheSite: `apache/${name}.conf`,
    supervisorPrograms: `supervisor/${name}.conf`,
    supervisordConf: 'supervisor/supervisord.conf',
    supervisorEnvWrapper: `supervisor/${name}-env.sh`,
    tmpfiles: `tmpfiles/${name}.conf`,
    runner: `python/${name}_server.py`,
    cgiScript: `cgi/${name}.cgi`,
    modWsgiScript: `python/${name}.wsgi`,
    wsgiLoader: `python/${WSGI_LOADER_MODULE}.py`,
    certbotDeployHook: `certbot/${name}-deploy-hook.sh`,
    redisConf: `redis/${name}.conf`,
  };
}

/** uWSGI's master FIFO (its reload command channel) in the stack's run directory. */
export function masterFifoPath(runDir: string): string {
  return `${runDir}/master.fifo`;
}

export type FileKey = keyof ReturnType<typeof relativeFiles>;
