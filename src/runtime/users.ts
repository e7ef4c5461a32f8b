// Who a process runs as. systemd's User=/Group= and supervisor's user= name accounts; a
// spawn needs numbers. Read from /etc/passwd and /etc/group (the files NSS source) — verify
// runs on the machine the stack is proven on, where these accounts must exist.

import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { StackgenError } from '../errors.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

export interface Group {
  name: string;
  gid: number;
  members: string[];
}

/** Parse /etc/passwd text (name:x:uid:gid:gecos:home:shell). Pure. */
export function parsePasswd(text: string): Account[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .map(([name = '', , uid = '', gid = '']) => ({ name, uid: Number(uid), gid: Number(gid) }));
}

/** Parse /etc/group text (name:x:gid:member,member). Pure. */
export function parseGroups(text: string): Group[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .map(([name = '', , gid = '', members = '']) => ({
      name,
      gid: Number(gid),
      members: members ? members.split(',') : [],
    }));
}

export interface AccountBook {
  accounts: Account[];
  groups: Group[];
}

export function readAccountBook(): AccountBook {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  return { accounts: parsePasswd(read('/etc/passwd')), groups: parseGroups(read('/etc/group')) };
}

/** uid and gid for a User=/Group= pair; a missing account is a verify error, not a guess. */
export function resolveIds(book: AccountBook, user: string, group: string): { uid: number; gid: number } {
  const account = book.accounts.find((a) => a.name === user);
  const grp = book.groups.find((g) => g.name === group);
  if (!account || !grp) {
    const missing = !account ? `user ${user}` : `group ${group}`;
    throw new StackgenError('SG_ERR_COMPONENT_NOT_READY', `${missing} does not exist on this machine`, {
      hint: 'create the account (adduser --system), or set processes.user/group and proxy.user in stack.yaml to existing ones',
    });
  }
  return { uid: account.uid, gid: grp.gid };
}

/** Names for a uid/gid, for messages ("owned by root:www-data"). */
export function nameOfUid(book: AccountBook, uid: number): string {
  return book.accounts.find((a) => a.uid === uid)?.name ?? String(uid);
}
export function nameOfGid(book: AccountBook, gid: number): string {
  return book.groups.find((g) => g.gid === gid)?.name ?? String(gid);
}

/** Group ids a user belongs to: the primary group and every group listing them. */
export function groupIdsOf(book: AccountBook, user: string): number[] {
  const account = book.accounts.find((a) => a.name === user);
  const ids = book.groups.filter((g) => g.members.includes(user)).map((g) => g.gid);
  return account ? [account.gid, ...ids] : ids;
}

/** The user running verify, with its primary group's name. */
export function currentUser(book: AccountBook): { user: string; group: string; uid: number } {
  const info = userInfo();
  return { user: info.username, group: nameOfGid(book, info.gid), uid: info.uid };
}

/**
 * What a root sandbox runs the app as when its own account does not exist yet: an account
 * every Debian has that is not the proxy's. Not `nobody`: systemd refuses to call a unit with
 * User=nobody safe (`systemd-analyze verify`: "Special user nobody configured"), and the
 * sandbox checks the units it renders.
 */
export const STAND_IN_USER = 'daemon';

export interface SandboxAccounts {
  users: { app: string; group: string; proxy: string };
  /** `user flask → daemon` for each account of stack.yaml only `stackgen install` creates. */
  standIns: string[];
}

/**
 * The accounts a sandbox run as root uses: stack.yaml's, except the app's own user and group
 * that `stackgen install` creates (processes.user/group default to the stack's name). The
 * user becomes STAND_IN_USER — still not the proxy's user; the group becomes the proxy's primary
 * group, standing in for the membership install gives the proxy (usermod -aG), which a
 * sandbox must not make on this host. The proxy still reaches the socket only through the
 * group (mode 660, directory 750); a group the proxy is not in still fails here. Pure.
 */
export function sandboxAccounts(
  book: AccountBook,
  wanted: { app: string; group: string; proxy: string },
): SandboxAccounts {
  const standIns: string[] = [];
  const hasUser = book.accounts.some((a) => a.name === wanted.app);
  const hasGroup = book.groups.some((g) => g.name === wanted.group);
  const proxy = book.accounts.find((a) => a.name === wanted.proxy);
  const proxyGroup = proxy ? nameOfGid(book, proxy.gid) : 'nogroup';
  if (!hasUser) standIns.push(`user ${wanted.app} → ${STAND_IN_USER}`);
  if (!hasGroup) standIns.push(`group ${wanted.group} → ${proxyGroup}`);
  return {
    users: {
      app: hasUser ? wanted.app : STAND_IN_USER,
      group: hasGroup ? wanted.group : proxyGroup,
      proxy: wanted.proxy,
    },
    standIns,
  };
}
