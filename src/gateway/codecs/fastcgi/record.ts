// FastCGI 1.0 record bodies the gateway sends or reads (FastCGI Specification §5 and §8):
// FCGI_BeginRequestBody { roleB1, roleB0, flags, reserved[5] } and
// FCGI_EndRequestBody { appStatusB3..B0, protocolStatus, reserved[3] }.

import { UpstreamError } from '../../../errors.js';

export const BEGIN_REQUEST_BODY_LENGTH = 8;
export const END_REQUEST_BODY_LENGTH = 8;

/** Roles (§8). The gateway only asks for RESPONDER. */
export const Role = { Responder: 1, Authorizer: 2, Filter: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** §5.1: "If flags & FCGI_KEEP_CONN [...] the application does not close the connection". */
export const FCGI_KEEP_CONN = 1;

/** protocolStatus values of FCGI_END_REQUEST (§5.5). */
export const ProtocolStatus = {
  RequestComplete: 0,
  CantMpxConn: 1,
  Overloaded: 2,
  UnknownRole: 3,
} as const;
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

/** Write an FCGI_BeginRequestBody at `offset`; returns the offset just after it. */
export function writeBeginRequestBody(buf: Buffer, offset: number, role: Role, keepConn: boolean): number {
  buf.writeUInt16BE(role, offset);
  buf[offset + 2] = keepConn ? FCGI_KEEP_CONN : 0;
  buf.fill(0, offset + 3, offset + BEGIN_REQUEST_BODY_LENGTH);
  return offset + BEGIN_REQUEST_BODY_LENGTH;
}

export interface EndRequestBody {
  appStatus: number;
  protocolStatus: number;
}

/** Read an FCGI_EndRequestBody (8 bytes) at `offset`. */
export function readEndRequestBody(buf: Buffer, offset = 0): EndRequestBody {
  return { appStatus: buf.readUInt32BE(offset), protocolStatus: buf[offset + 4]! };
}

const REFUSALS: Record<number, string> = {
  [ProtocolStatus.CantMpxConn]: 'FCGI_CANT_MPX_CONN: it cannot run two requests on one connection',
  [ProtocolStatus.Overloaded]:
    'FCGI_OVERLOADED: it is out of resources (too many connections or workers busy)',
  [ProtocolStatus.UnknownRole]: 'FCGI_UNKNOWN_ROLE: it does not play the RESPONDER role',
};

/**
 * The error for an END_REQUEST that is not FCGI_REQUEST_COMPLETE, or null when it is. §5.5: the
 * other statuses mean the application rejected the request without running it, so a retry on
 * another backend is safe (sentAnything: false).
 */
export function endRequestError(end: EndRequestBody): UpstreamError | null {
  if (end.protocolStatus === ProtocolStatus.RequestComplete) return null;
  const why = REFUSALS[end.protocolStatus] ?? `unknown protocolStatus ${end.protocolStatus}`;
  return new UpstreamError('SG_ERR_UPSTREAM_REJECTED', `The FastCGI backend refused the request (${why}).`, {
    hint:
      end.protocolStatus === ProtocolStatus.Overloaded
        ? 'Give the backend more workers or lower the gateway max_connections for it.'
        : 'Check that the backend is a FastCGI responder (php-fpm, fcgiwrap, uWSGI fastcgi-socket).',
    details: { ...end },
    sentAnything: false,
  });
}
