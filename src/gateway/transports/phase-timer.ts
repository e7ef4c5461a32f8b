// The backend idle timeouts, nginx's way: *_connect_timeout until the connection is up, then
// *_send_timeout "between two successive write operations" while the request goes out, then
// *_read_timeout "between two successive read operations" until the answer is in. One timer
// per exchange follows those phases; a transport says when a phase starts and what the timer
// drives (a socket's own idle timeout, or a plain timer for a child process).

import type { UpstreamError } from '../../errors.js';
import type { TransportTimeouts } from '../transport.js';
import * as failure from './upstream-failure.js';

export type Phase = 'connect' | 'send' | 'read';

/** Arm the idle timeout for `ms` milliseconds (0: off). A socket's setTimeout is one. */
export type IdleClock = (ms: number) => void;

export class PhaseTimer {
  #timeouts: TransportTimeouts;
  #phase: Phase;
  #paused = false;
  readonly #clock: IdleClock;

  constructor(clock: IdleClock, timeouts: TransportTimeouts, phase: Phase) {
    this.#clock = clock;
    this.#timeouts = timeouts;
    this.#phase = phase;
  }

  /** Start over for another exchange on the same connection (sockets are reused). */
  restart(timeouts: TransportTimeouts, phase: Phase): void {
    this.#timeouts = timeouts;
    this.#phase = phase;
    this.#paused = false;
    this.arm();
  }

  get phase(): Phase {
    return this.#phase;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The timeout of the current phase, in milliseconds. */
  get ms(): number {
    const t = this.#timeouts;
    return this.#phase === 'connect' ? t.connectMs : this.#phase === 'send' ? t.sendMs : t.readMs;
  }

  /** The exchange reached `phase` (connected, request written, answer started): re-arm for it. */
  enter(phase: Phase): void {
    this.#phase = phase;
    this.arm();
  }

  /** Backpressure: while the client does not read, the backend is not the one stalling. */
  pause(): void {
    this.#paused = true;
    this.arm();
  }

  resume(): void {
    this.#paused = false;
    this.arm();
  }

  /** (Re)arm the clock for the current phase. */
  arm(): void {
    this.#clock(this.#paused ? 0 : this.ms);
  }

  /** The 504 for the phase whose timeout fired. */
  timedOut(facts: failure.FailureFacts): UpstreamError {
    return failure.timeout({ ...facts, phase: this.#phase, ms: this.ms });
  }
}

/**
 * An IdleClock on a plain timer, for what has no socket to watch (a CGI child's pipes): the
 * transport calls touch() on every read and write, as a socket would refresh itself.
 */
export class TimerClock {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #onTimeout: () => void;

  constructor(onTimeout: () => void) {
    this.#onTimeout = onTimeout;
  }

  readonly set: IdleClock = (ms) => {
    clearTimeout(this.#timer);
    this.#timer = ms > 0 && !this.#stopped ? setTimeout(this.#onTimeout, ms) : undefined;
  };

  /** Activity: the idle time starts again. */
  touch(): void {
    this.#timer?.refresh();
  }

  /** The exchange is over: never fire, never re-arm. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
