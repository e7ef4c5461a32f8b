import { describe, expect, it } from 'vitest';
import {
  type Requirement,
  requiredPackages,
  requirementName,
  stackRequirements,
} from '../../../src/topology/requirements.js';
import type { NormalizedSpec } from '../../../src/stack/normalize.js';
import { parseStackSpec } from '../../../src/stack/parse.js';

function spec(yaml: string): NormalizedSpec {
  const result = parseStackSpec(yaml);
  if (!result.spec) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.spec;
}

const names = (rs: Requirement[]) => rs.map(requirementName);

describe('stackRequirements', () => {
  it('flask on uWSGI behind nginx under systemd: programs with minimums, the python3 plugin, flask', () => {
    const rs = stackRequirements(
      spec('app: {framework: flask}\nserve: {server: uwsgi}\nproxy: {kind: nginx}\n'),
      '/usr/bin/python3',
    );
    expect(names(rs)).toEqual(['nginx', 'uwsgi', 'systemd-analyze', 'uwsgi plugin python3', 'flask']);
    const nginx = rs.find((r) => r.kind === 'program' && r.program === 'nginx');
    expect(nginx).toMatchObject({ package: 'nginx-light', minVersion: '1.18.0', versionArgs: ['-v'] });
    expect(rs.find((r) => r.kind === 'uwsgi-plugin')).toMatchObject({ package: 'uwsgi-plugin-python3' });
  });

  it('gunicorn with gevent: the interpreter, gunicorn and gevent modules for the stack python', () => {
    const rs = stackRequirements(
      spec('app: {framework: flask, venv: /srv/venv}\nserve: {server: gunicorn, concurrency: gevent}\n'),
      '/srv/venv/bin/python',
    );
    expect(names(rs)).toEqual([
      'nginx',
      'gunicorn',
      'systemd-analyze',
      '/srv/venv/bin/python',
      'gunicorn',
      'gevent',
      'flask',
    ]);
    for (const r of rs) if (r.kind === 'python-module') expect(r.python).toBe('/srv/venv/bin/python');
  });

  it('nginx in front of CGI needs fcgiwrap; the gateway needs Node and the stackgen install writes', () => {
    const viaNginx = stackRequirements(
      spec('app: {framework: cgi}\nproxy: {kind: nginx, protocol: cgi}\n'),
      'python3',
    );
    expect(names(viaNginx)).toContain('fcgiwrap');
    const viaGateway = stackRequirements(
      spec('app: {framework: cgi}\nproxy: {kind: gateway, protocol: cgi}\nprocesses: {manager: none}\n'),
      'python3',
    );
    expect(names(viaGateway)).toEqual(['node', '/usr/local/bin/stackgen']);
    // Neither is an apt package: CI and the README do not list them.
    expect(
      requiredPackages(spec('app: {framework: cgi}\nproxy: {kind: gateway, protocol: cgi}\n')),
    ).not.toContain('nodejs');
  });

  it('lists a module needed twice (tornado as server and framework) once', () => {
    const rs = stackRequirements(
      spec('app: {framework: tornado}\nprocesses: {manager: supervisor}\n'),
      '/usr/bin/python3',
    );
    expect(names(rs).filter((n) => n === 'tornado')).toHaveLength(1);
    expect(names(rs)).toContain('supervisord');
  });
});
