import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed request's timestamp may be from our clock, in either direction. @default 300 */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const TENURE_SIGNATURE_HEADER = 'x-tenure-signature';
export const TENURE_TIMESTAMP_HEADER = 'x-tenure-timestamp';

export type VerifyResult = { ok: true } | { ok: false; reason: string };

function hmacHex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Tenure's generic webhook: `v1=` + hex HMAC-SHA256 of `<timestamp>.<raw body>` with the shared secret. */
export function signTenureWebhook(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return `v1=${hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(rawBody)]))}`;
}

interface VerifyInput {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  /** Seconds since the epoch. */
  nowSeconds: number;
  toleranceSeconds?: number;
}

function checkTimestamp(
  timestamp: string | undefined,
  nowSeconds: number,
  tolerance: number,
  header: string,
): VerifyResult & { ts?: number } {
  if (!timestamp) return { ok: false, reason: `missing ${header} header` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `${header} must be Unix seconds` };
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > tolerance) {
    return {
      ok: false,
      reason: `${header} is more than ${tolerance} seconds from the server clock (stale or future request)`,
    };
  }
  return { ok: true, ts };
}

export function verifyTenureWebhook(i: VerifyInput): VerifyResult {
  const tolerance = i.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const t = checkTimestamp(i.timestamp, i.nowSeconds, tolerance, TENURE_TIMESTAMP_HEADER);
  if (!t.ok) return t;
  if (!i.signature) return { ok: false, reason: `missing ${TENURE_SIGNATURE_HEADER} header` };
  const expected = signTenureWebhook(i.secret, Number(i.timestamp), i.rawBody);
  if (!safeEqual(expected, i.signature))
    return { ok: false, reason: `${TENURE_SIGNATURE_HEADER} does not match the body` };
  return { ok: true };
}

/** Slack's request signing: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret. */
export function signSlackRequest(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return `v0=${hmacHex(secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`), Buffer.from(rawBody)]))}`;
}

export function verifySlackRequest(i: VerifyInput): VerifyResult {
  const tolerance = i.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const t = checkTimestamp(i.timestamp, i.nowSeconds, tolerance, 'x-slack-request-timestamp');
  if (!t.ok) return t;
  if (!i.signature) return { ok: false, reason: 'missing x-slack-signature header' };
  const expected = signSlackRequest(i.secret, Number(i.timestamp), i.rawBody);
  if (!safeEqual(expected, i.signature)) return { ok: false, reason: 'x-slack-signature does not match the body' };
  return { ok: true };
}
