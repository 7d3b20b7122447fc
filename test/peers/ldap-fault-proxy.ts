/**
 * A small TCP proxy in front of a real slapd that makes the next LDAP write misbehave, for fault tests. It reads
 * the client's LDAPMessages (BER: SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] … }) just far enough to
 * see the operation, and for the next one that matches a queued fault:
 *
 * - `answer`: does not forward it and answers with that LDAP result code (51 busy, 52 unavailable,
 *   11 adminLimitExceeded, …) and a diagnostic message, as a directory under load does;
 * - `delay`: forwards it (slapd does the write) and holds every answer on that connection for `ms`, so the
 *   client's timeout fires after the write happened.
 *
 * Plain LDAP only (it cannot read inside TLS).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** LDAP protocolOp tags of the requests a fault can match (RFC 4511 §4.2–4.9). */
const REQUEST_TAGS = { modify: 0x66, add: 0x68, delete: 0x4a, modifyDN: 0x6c } as const;
export type LdapWrite = keyof typeof REQUEST_TAGS;
/** The response tag for each request: request tag + 1. */
const RESPONSE_TAG: Record<number, number> = { 0x66: 0x67, 0x68: 0x69, 0x4a: 0x6b, 0x6c: 0x6d };

export type LdapFault =
  | { kind: 'answer'; op: LdapWrite; resultCode: number; diagnostic?: string }
  | { kind: 'delay'; op: LdapWrite; ms: number };

export interface LdapFaultProxy {
  url: string;
  /** Queue a fault for the next request of its kind (any connection). */
  next(fault: LdapFault): void;
  /** How many requests of each matched kind went through or were answered by a fault. */
  seen: Record<LdapWrite, number>;
  close(): Promise<void>;
}

function berLength(buf: Buffer, at: number): { length: number; header: number } | undefined {
  const first = buf[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return { length: first, header: 1 };
  const n = first & 0x7f;
  if (at + 1 + n > buf.length) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + (buf[at + 1 + i] ?? 0);
  return { length, header: 1 + n };
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

/** An LDAPResult response for `messageId` (the raw INTEGER bytes are reused as they came). */
function response(messageIdTlv: Buffer, tag: number, resultCode: number, diagnostic: string): Buffer {
  const result = Buffer.concat([
    tlv(0x0a, Buffer.from([resultCode])),
    tlv(0x04, Buffer.alloc(0)),
    tlv(0x04, Buffer.from(diagnostic, 'utf8')),
  ]);
  return tlv(0x30, Buffer.concat([messageIdTlv, tlv(tag, result)]));
}

/** Start a proxy listening on 127.0.0.1 that forwards to `target` (`ldap://host:port`). */
export async function startLdapFaultProxy(target: string): Promise<LdapFaultProxy> {
  const { hostname, port } = new URL(target);
  const queue: LdapFault[] = [];
  const sockets = new Set<Socket>();
  const seen: Record<LdapWrite, number> = { modify: 0, add: 0, delete: 0, modifyDN: 0 };

  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    let pending = Buffer.alloc(0);
    let holdUntil = 0;
    let held: Buffer[] = [];
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);

    upstream.on('data', (chunk: Buffer) => {
      if (Date.now() < holdUntil) {
        held.push(chunk);
        return;
      }
      client.write(chunk);
    });

    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending.length < 2) return;
        const outer = berLength(pending, 1);
        if (!outer) return;
        const total = 1 + outer.header + outer.length;
        if (pending.length < total) return;
        const message = pending.subarray(0, total);
        pending = pending.subarray(total);

        // messageID INTEGER, then the protocolOp's tag.
        const idAt = 1 + outer.header;
        const idLen = berLength(message, idAt + 1);
        const opAt = idAt + 1 + (idLen?.header ?? 1) + (idLen?.length ?? 0);
        const opTag = message[opAt] ?? 0;
        const op = (Object.keys(REQUEST_TAGS) as LdapWrite[]).find((k) => REQUEST_TAGS[k] === opTag);
        if (op) seen[op] += 1;
        const i = op ? queue.findIndex((f) => f.op === op) : -1;
        const fault = i >= 0 ? queue.splice(i, 1)[0] : undefined;
        if (fault?.kind === 'answer') {
          client.write(
            response(
              message.subarray(idAt, opAt),
              RESPONSE_TAG[opTag] ?? 0x69,
              fault.resultCode,
              fault.diagnostic ?? '',
            ),
          );
          continue;
        }
        if (fault?.kind === 'delay') {
          holdUntil = Date.now() + fault.ms;
          setTimeout(() => {
            const out = held;
            held = [];
            for (const c of out) if (!client.destroyed) client.write(c);
          }, fault.ms);
        }
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const listenPort = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ldap://127.0.0.1:${listenPort}`,
    next: (fault) => void queue.push(fault),
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
