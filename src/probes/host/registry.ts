// The probes only a real host can answer (the machine target), by when they run: with the
// stack freshly installed, and after the machine was rebooted. The sandbox's probes run
// too (src/probes/registry.ts); these come on top.

import type { AnyProbe } from '../types.js';
import { appUserProbe } from './app-user.js';
import { defaultSiteProbe } from './default-site.js';
import { gracefulStopProbe } from './graceful-stop.js';
import { hardeningProbe } from './hardening.js';
import { journalProbe } from './journal.js';
import { listenersProbe } from './listeners.js';
import { rebootProbe } from './reboot.js';
import { secretsProbe } from './secrets.js';
import { reloadUnderLoadProbe } from './reload-load.js';
import { tlsRenewalProbe } from './tls-renewal.js';
import { writableProbe } from './writable.js';

/** After install, with the sandbox's probes. */
export const HOST_PROBES: ReadonlyArray<AnyProbe> = [
  defaultSiteProbe,
  hardeningProbe,
  appUserProbe,
  secretsProbe,
  writableProbe,
  journalProbe,
  listenersProbe,
  reloadUnderLoadProbe,
  tlsRenewalProbe,
];

/** After the reboot, before uninstall (backend-down runs here too). */
export const AFTER_REBOOT_PROBES: ReadonlyArray<AnyProbe> = [rebootProbe, gracefulStopProbe];
