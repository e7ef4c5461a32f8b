// A minimal RFC 6455 WebSocket client: Node 20 has no stable global WebSocket, and the
// probes want to see the handshake answer itself (a proxy that drops `Upgrade` shows up
// as a 400/404 here, not as an opaque "connection failed"). Used by the probe-app tests
// and by `verify`'s WebSocket probe.
//
// Layout: a pure frame encoder, an incremental frame decoder (state enum + push(chunk)),
// and a client that wires them to the socket node:http hands over after `101`.

import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { request as plainRequest } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { type TargetTls, tlsClientOptions } from './http.js';

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key to form Sec-WebSocket-Accept. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.2 opcodes. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

export type WebSocketErrorCode = 'WS_HANDSHAKE' | 'WS_PROTOCOL' | 'WS_TIMEOUT' | 'WS_CLOSED';

export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode;
  /** For WS_HANDSHAKE: the HTTP status the server answered instead of 101 (0 if none). */
  readonly status: number;

  constructor(code: WebSocketErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'WebSocketError';
    this.code = code;
    this.status = options.status ?? 0;
  }
}

export interface Frame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2 step 5.4): base64(SHA-1(key + GUID)). */
export function acceptKeyFor(key: string): string {
  return createHash('sha1')
    .update(key + ACCEPT_GUID)
    .digest('base64');
}

/**
 * Encode one frame. RFC 6455 §5.3: "a client MUST mask all frames that it sends to the
 * server", with a fresh unpredictable 32-bit key per frame; pass `mask: null` for a server frame.
 */
export function encodeFrame(
  opcode: number,
  payload: Buffer,
  { fin = true, mask = randomBytes(4) }: { fin?: boolean; mask?: Buffer | null } = {},
): Buffer {
  const length = payload.length;
  // Payload length: 7 bits, or 126 + u16, or 127 + u64 (network byte order).
  const extended = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  const lengthCode = extended === 0 ? length : extended === 2 ? 126 : 127;
  header[1] = (mask ? 0x80 : 0) | lengthCode;
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([header, payload]);
  mask.copy(header, 2 + extended);
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, body]);
}

/** Close frame payload (RFC 6455 §5.5.1): u16 status code, then a UTF-8 reason. */
export function encodeClosePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

enum DecodeState {
  Header,
  Length16,
  Length64,
  MaskKey,
  Payload,
}

/** Incremental frame decoder: push() any split of the byte stream, get whole frames back. */
export class FrameDecoder {
  private state = DecodeState.Header;
  private buffered: Buffer = Buffer.alloc(0);
  private fin = false;
  private opcode = 0;
  private masked = false;
  private length = 0;
  private mask: Buffer | null = null;

  constructor(private readonly maxPayload = 16 * 1024 * 1024) {}

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const frame = this.step();
      if (frame === undefined) return frames;
      if (frame !== null) frames.push(frame);
    }
  }

  /** Advance one state; a Frame when one completes, null when progress was made, undefined when starved. */
  private step(): Frame | null | undefined {
    switch (this.state) {
      case DecodeState.Header: {
        const head = this.take(2);
        if (!head) return undefined;
        const [b0, b1] = [head[0]!, head[1]!];
        if (b0 & 0x70) throw new WebSocketError('WS_PROTOCOL', 'RSV bits set without a negotiated extension');
        this.fin = (b0 & 0x80) !== 0;
        this.opcode = b0 & 0x0f;
        this.masked = (b1 & 0x80) !== 0;
        this.length = b1 & 0x7f;
        // RFC 6455 §5.5: control frames have payload ≤ 125 bytes and MUST NOT be fragmented.
        if (this.opcode >= 0x8 && (this.length > 125 || !this.fin)) {
          throw new WebSocketError('WS_PROTOCOL', `invalid control frame (opcode ${this.opcode})`);
        }
        this.state =
          this.length === 126
            ? DecodeState.Length16
            : this.length === 127
              ? DecodeState.Length64
              : this.afterLength();
        return null;
      }
      case DecodeState.Length16: {
        const bytes = this.take(2);
        if (!bytes) return undefined;
        this.length = bytes.readUInt16BE(0);
        this.state = this.afterLength();
        return null;
      }
      case DecodeState.Length64: {
        const bytes = this.take(8);
        if (!bytes) return undefined;
        const length = bytes.readBigUInt64BE(0);
        if (length > BigInt(this.maxPayload)) {
          throw new WebSocketError('WS_PROTOCOL', `frame of ${length} bytes exceeds ${this.maxPayload}`);
        }
        this.length = Number(length);
        this.state = this.afterLength();
        return null;
      }
      case DecodeState.MaskKey: {
        const key = this.take(4);
        if (!key) return undefined;
        this.mask = Buffer.from(key);
        this.state = DecodeState.Payload;
        return null;
      }
      case DecodeState.Payload: {
        const data = this.take(this.length);
        if (!data) return undefined;
        const payload = Buffer.from(data);
        if (this.mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ this.mask[i & 3]!;
        const frame: Frame = { fin: this.fin, opcode: this.opcode, masked: this.masked, payload };
        this.mask = null;
        this.state = DecodeState.Header;
        return frame;
      }
    }
  }

  private afterLength(): DecodeState {
    if (this.length > this.maxPayload) {
      throw new WebSocketError('WS_PROTOCOL', `frame of ${this.length} bytes exceeds ${this.maxPayload}`);
    }
    return this.masked ? DecodeState.MaskKey : DecodeState.Payload;
  }

  private take(count: number): Buffer | null {
    if (this.buffered.length < count) return null;
    const bytes = this.buffered.subarray(0, count);
    this.buffered = this.buffered.subarray(count);
    return bytes;
  }
}

export interface WebSocketMessage {
  type: 'text' | 'binary';
  data: Buffer;
}

export interface CloseInfo {
  /** 1005 when the close frame carried no code, 1006 when the connection dropped without one. */
  code: number;
  reason: string;
}

export interface ConnectOptions {
  /** Connect through a unix socket instead of the URL's host and port. */
  socketPath?: string;
  headers?: Record<string, string>;
  /** Deadline for the whole handshake. */
  timeoutMs?: number;
  maxPayload?: number;
  /** For wss://: trust this CA alone (null: the system's) and send this SNI name. */
  tls?: TargetTls | undefined;
}

/** An open WebSocket connection; messages queue until receive() takes them. */
export class WebSocketClient {
  /** Resolves once the connection is closed, with the peer's close code and reason. */
  readonly closed: Promise<CloseInfo>;
  private readonly decoder: FrameDecoder;
  private readonly queue: WebSocketMessage[] = [];
  private readonly waiters: Array<{ resolve: (m: WebSocketMessage) => void; reject: (e: Error) => void }> =
    [];
  private fragments: Buffer[] = [];
  private fragmentType: WebSocketMessage['type'] | null = null;
  private closeSent = false;
  private closeInfo: CloseInfo | null = null;
  private resolveClosed!: (info: CloseInfo) => void;

  constructor(
    private readonly socket: Socket,
    /** Headers of the 101 answer, for probes that check what the proxy passed. */
    readonly handshakeHeaders: IncomingHttpHeaders,
    head: Buffer,
    maxPayload?: number,
  ) {
    this.decoder = new FrameDecoder(maxPayload);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.finish({ code: 1006, reason: '' }));
    if (head.length > 0) this.onData(head);
  }

  sendText(text: string): void {
    this.sendFrame(Opcode.text, Buffer.from(text, 'utf8'));
  }

  sendBinary(data: Buffer): void {
    this.sendFrame(Opcode.binary, data);
  }

  ping(payload: Buffer = Buffer.alloc(0)): void {
    this.sendFrame(Opcode.ping, payload);
  }

  /** Next data message; rejects on timeout or when the connection closes first. */
  receive(timeoutMs = 5000): Promise<WebSocketMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closeInfo) {
      return Promise.reject(new WebSocketError('WS_CLOSED', `connection closed (${this.closeInfo.code})`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (message: WebSocketMessage) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new WebSocketError('WS_TIMEOUT', `no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Closing handshake (RFC 6455 §7.1.2): send Close, wait for the peer's Close, then end. */
  async close(code = 1000, reason = '', timeoutMs = 2000): Promise<CloseInfo> {
    if (!this.closeSent && !this.closeInfo) {
      this.sendFrame(Opcode.close, encodeClosePayload(code, reason));
      this.closeSent = true;
    }
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drop the connection without a closing handshake. */
  destroy(): void {
    this.socket.destroy();
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    if (this.closeSent || this.closeInfo) throw new WebSocketError('WS_CLOSED', 'connection is closing');
    this.socket.write(encodeFrame(opcode, payload));
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    const problem = this.protocolProblem(frame);
    if (problem) {
      this.fail(new WebSocketError('WS_PROTOCOL', problem));
      return;
    }
    switch (frame.opcode) {
      case Opcode.text:
      case Opcode.binary:
        this.fragmentType = frame.opcode === Opcode.text ? 'text' : 'binary';
        this.fragments = [frame.payload];
        break;
      case Opcode.continuation:
        this.fragments.push(frame.payload);
        break;
      case Opcode.ping:
        if (!this.closeSent) this.socket.write(encodeFrame(Opcode.pong, frame.payload));
        return;
      case Opcode.pong:
        return;
      case Opcode.close:
        this.onClose(frame.payload);
        return;
    }
    if (frame.fin) this.deliver();
  }

  /** Why `frame` breaks RFC 6455 in its place in the stream, or null. */
  private protocolProblem(frame: Frame): string | null {
    // §5.1: "A client MUST close a connection if it detects a masked frame."
    if (frame.masked) return 'server sent a masked frame';
    switch (frame.opcode) {
      case Opcode.text:
      case Opcode.binary:
        return this.fragmentType ? 'new message in the middle of a fragmented one' : null;
      case Opcode.continuation:
        return this.fragmentType ? null : 'continuation frame without a message to continue';
      case Opcode.ping:
      case Opcode.pong:
      case Opcode.close:
        return null;
      default:
        return `unknown opcode ${frame.opcode}`;
    }
  }

  private deliver(): void {
    const message: WebSocketMessage = { type: this.fragmentType!, data: Buffer.concat(this.fragments) };
    this.fragmentType = null;
    this.fragments = [];
    // §8.1: a text message that is not valid UTF-8 fails the connection.
    if (message.type === 'text' && !isUtf8(message.data)) {
      this.fail(new WebSocketError('WS_PROTOCOL', 'text message is not UTF-8'));
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.queue.push(message);
  }

  private onClose(payload: Buffer): void {
    const info: CloseInfo =
      payload.length >= 2
        ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') }
        : { code: 1005, reason: '' };
    // RFC 6455 §5.5.1: answer a Close we did not start, then the server closes TCP.
    if (!this.closeSent) {
      this.socket.write(encodeFrame(Opcode.close, payload.subarray(0, 2)));
      this.closeSent = true;
    }
    this.finish(info);
    this.socket.end();
  }

  private fail(error: Error): void {
    if (!this.closeSent) {
      this.socket.write(encodeFrame(Opcode.close, encodeClosePayload(1002)));
      this.closeSent = true;
    }
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.finish({ code: 1002, reason: error.message });
    this.socket.destroy();
  }

  private finish(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    const error = new WebSocketError('WS_CLOSED', `connection closed (${info.code})`);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.resolveClosed(info);
  }
}

/**
 * Open a WebSocket (RFC 6455 §4.1 client handshake) to a ws:// or wss:// URL. Rejects with
 * WS_HANDSHAKE and the HTTP status when the server answers anything but a valid 101.
 */
export function connectWebSocket(url: string, options: ConnectOptions = {}): Promise<WebSocketClient> {
  const target = new URL(url);
  const secure = target.protocol === 'wss:';
  if (!secure && target.protocol !== 'ws:')
    throw new WebSocketError('WS_HANDSHAKE', `only ws:// and wss:// are supported: ${url}`);
  const request = secure ? tlsRequest : plainRequest;
  const key = randomBytes(16).toString('base64');
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = request({
      ...(secure ? tlsClientOptions(options.tls ?? { caFile: null, servername: target.hostname }) : {}),
      host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port || (secure ? 443 : 80),
      path: target.pathname + target.search,
      socketPath: options.socketPath,
      headers: {
        ...options.headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
      },
      timeout: timeoutMs,
    });
    req.on('timeout', () => {
      req.destroy(new WebSocketError('WS_TIMEOUT', `no handshake answer within ${timeoutMs} ms from ${url}`));
    });
    req.on('error', (error) =>
      reject(
        error instanceof WebSocketError
          ? error
          : new WebSocketError('WS_HANDSHAKE', `${url}: ${error.message}`, { cause: error }),
      ),
    );
    req.on('response', (res) => {
      // Not 101: keep a little of the body, it usually says why (proxy error page).
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        if (parts.length < 4) parts.push(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8').slice(0, 200);
        reject(
          new WebSocketError('WS_HANDSHAKE', `${url}: expected 101, got ${res.statusCode}: ${body}`, {
            status: res.statusCode ?? 0,
          }),
        );
      });
    });
    req.on('upgrade', (res, socket, head) => {
      req.setTimeout(0);
      const accept = res.headers['sec-websocket-accept'];
      const upgrade = String(res.headers['upgrade'] ?? '').toLowerCase();
      if (accept !== acceptKeyFor(key) || upgrade !== 'websocket') {
        socket.destroy();
        reject(
          new WebSocketError('WS_HANDSHAKE', `${url}: bad 101 (upgrade=${upgrade}, accept=${accept})`, {
            status: 101,
          }),
        );
        return;
      }
      resolve(new WebSocketClient(socket, res.headers, head, options.maxPayload));
    });
    req.end();
  });
}
