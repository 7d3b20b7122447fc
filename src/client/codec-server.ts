/**
 * The codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to decode payloads
 * (DESIGN §5, ADR 0002). Protocol: POST `<endpoint>/decode` or `<endpoint>/encode` with a JSON `Payloads`
 * message in proto3 JSON form (`{ "payloads": [{ "metadata": { "encoding": "<base64>" }, "data": "<base64>" }] }`)
 * and the same shape back; the UI sends `X-Namespace`.
 *
 * Authentication, either of:
 * - `Authorization: Bearer <token>` at `<mount>/decode` and `<mount>/encode` (compared in constant time);
 * - the capability path `<mount>/ui/<token>/decode|encode`, for the dev Web UI, which has no login and so cannot send
 *   a bearer token: the UI is started with `--ui-codec-endpoint http://127.0.0.1:<port><mount>/ui/<token>`.
 * Browsers are let in only from `allowedOrigins` (CORS). Nothing here logs a payload, the token, or a path with it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type { Logger } from '../logger';

export interface CodecRouterOptions {
  /** The codec, usually `new AesGcmCodec(loadKeyRing())` (see src/codec). */
  codec: PayloadCodec;
  /** Shared secret: bearer token and capability-path segment. URL-safe, at least 32 characters (`generateCodecToken()`). */
  token: string;
  /** Browser origins allowed to call (the Web UI's, e.g. `http://localhost:8233`); no wildcard. */
  allowedOrigins: readonly string[];
  logger: Logger;
  /** Largest accepted body. @default "8mb" (history pages hold many payloads of up to 2 MB each) */
  bodyLimit?: string;
}

/** Request headers the Web UI sends and a preflight must allow. */
export const CODEC_ALLOWED_HEADERS = ['content-type', 'x-namespace', 'authorization'];
/** Path segment of the capability routes: `<mount>/ui/<token>/decode`. */
export const CAPABILITY_PREFIX = '/ui';
/** Response header counting payloads `decode` could not decrypt (returned unchanged). */
export const FAILURES_HEADER = 'X-Tenure-Codec-Failures';

const MIN_TOKEN_LENGTH = 32;
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A random token for the codec endpoint: 32 bytes, base64url (URL-safe, so it can be a path segment). */
export function generateCodecToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The path under the router's mount point that the Web UI is configured with (`--ui-codec-endpoint <base><this>`). */
export function capabilityPath(token: string): string {
  return `${CAPABILITY_PREFIX}/${token}`;
}

type Operation = 'decode' | 'encode';
type Via = 'bearer' | 'capability';

interface ProtoJsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {}

/** Router with the codec endpoint; mount it with `app.use('/codec', createCodecRouter(...))`. */
export function createCodecRouter(opts: CodecRouterOptions): express.Router {
  const { codec, logger: log } = opts;
  if (!TOKEN_CHARS.test(opts.token) || opts.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `codec endpoint token must be at least ${MIN_TOKEN_LENGTH} URL-safe characters (A-Z a-z 0-9 _ -); ` +
        'make one with `openssl rand -base64 32 | tr "+/" "-_" | tr -d "="`',
    );
  }
  const origins = new Set(opts.allowedOrigins.map((o) => o.replace(/\/+$/, '')));
  if (origins.has('*')) throw new Error('codec endpoint: allowedOrigins must list origins, "*" is not allowed');
  const wanted = digest(opts.token);
  const tokenMatches = (given: string | undefined): boolean =>
    given !== undefined && given.length > 0 && timingSafeEqual(digest(given), wanted);

  const router = express.Router();
  const bodyParser = express.raw({ type: () => true, limit: opts.bodyLimit ?? '8mb' });

  /** Sets CORS headers for an allowed origin; false for a browser request from any other origin. */
  const cors = (req: Request, res: Response): boolean => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin === undefined) return true; // not a cross-origin browser request: curl, tctl, server-side code
    if (!origins.has(origin)) return false;
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Allow-Credentials', 'true');
    return true;
  };

  const preflight = (req: Request, res: Response): void => {
    if (!cors(req, res)) {
      log.warn({ codec: 'preflight', origin: req.get('origin'), status: 403 }, 'codec request from origin refused');
      res.status(403).end();
      return;
    }
    res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.set('Access-Control-Allow-Headers', CODEC_ALLOWED_HEADERS.join(', '));
    res.set('Access-Control-Max-Age', '600');
    if (req.get('access-control-request-private-network') === 'true') {
      res.set('Access-Control-Allow-Private-Network', 'true');
    }
    log.debug({ codec: 'preflight', origin: req.get('origin'), status: 204 }, 'codec preflight answered');
    res.status(204).end();
  };

  const guard =
    (operation: Operation, via: Via) =>
    (req: Request, res: Response, next: NextFunction): void => {
      res.locals.codecStarted = Date.now();
      const fields = { codec: operation, via, namespace: namespaceOf(req), origin: req.get('origin') };
      if (!cors(req, res)) {
        log.warn({ ...fields, status: 403 }, 'codec request from origin refused');
        res.status(403).json({ error: 'origin_not_allowed', message: 'this origin may not call the codec endpoint' });
        return;
      }
      const given = via === 'bearer' ? bearerToken(req.get('authorization')) : String(req.params.token ?? '');
      if (!tokenMatches(given)) {
        const reason = via === 'bearer' && given === undefined ? 'no bearer token' : 'wrong token';
        log.warn({ ...fields, status: 401, reason }, 'codec request unauthenticated');
        res.set('WWW-Authenticate', 'Bearer realm="tenure-codec"');
        res.status(401).json({
          error: 'unauthorized',
          message:
            'send "Authorization: Bearer <codec token>", or use the capability path the Web UI is configured with',
        });
        return;
      }
      next();
    };

  const handler = (operation: Operation, via: Via) => async (req: Request, res: Response) => {
    const fields = { codec: operation, via, namespace: namespaceOf(req) };
    res.set('Cache-Control', 'no-store');
    let payloads: Payload[];
    try {
      payloads = parsePayloads(req.body);
    } catch (err) {
      const message = err instanceof BadRequest ? err.message : 'malformed request';
      log.warn({ ...fields, status: 400, reason: message }, 'codec request refused');
      res.status(400).json({ error: 'bad_request', message });
      return;
    }
    try {
      let out: Payload[];
      let failures = 0;
      if (operation === 'encode') {
        out = await codec.encode(payloads);
      } else {
        // One payload that cannot be decrypted (a retired key, say) must not hide the rest of a history page:
        // it comes back unchanged, counted in a header and the log, as the Web UI shows undecodable payloads.
        out = await Promise.all(
          payloads.map(async (p) => {
            try {
              const [decoded] = await codec.decode([p]);
              return decoded ?? p;
            } catch (err) {
              failures += 1;
              log.warn(
                { ...fields, keyId: (err as { keyId?: string }).keyId, reason: errorReason(err) },
                'payload not decoded',
              );
              return p;
            }
          }),
        );
        res.set(FAILURES_HEADER, String(failures));
      }
      res.json({ payloads: out.map(toProtoJson) });
      log.info(
        {
          ...fields,
          status: 200,
          payloads: payloads.length,
          failures,
          ms: Date.now() - Number(res.locals.codecStarted),
        },
        'codec request served',
      );
    } catch (err) {
      log.error({ ...fields, status: 500, reason: errorReason(err) }, 'codec failed');
      res.status(500).json({ error: 'codec_failed', message: `could not ${operation} the payloads` });
    }
  };

  for (const operation of ['decode', 'encode'] as const) {
    const bearerPath = `/${operation}`;
    const capability = `${CAPABILITY_PREFIX}/:token/${operation}`;
    router.options([bearerPath, capability], preflight);
    router.post(bearerPath, guard(operation, 'bearer'), bodyParser, handler(operation, 'bearer'));
    router.post(capability, guard(operation, 'capability'), bodyParser, handler(operation, 'capability'));
  }

  // Body-parser errors (too large, bad encoding): answer without echoing the body; the path is not logged
  // because the capability path holds the token.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const type = (err as { type?: unknown }).type;
    log.warn(
      { codec: 'request', namespace: namespaceOf(req), status, reason: type ?? 'error' },
      'codec request refused',
    );
    res.status(status).json({
      error: status === 413 ? 'too_large' : 'bad_request',
      message: status === 413 ? 'request body is too large' : 'could not read the request body',
    });
  });
  return router;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

function namespaceOf(req: Request): string | undefined {
  return req.get('x-namespace')?.slice(0, 200) || undefined;
}

function errorReason(err: unknown): string {
  // PayloadDecryptionError messages name key ids only; anything else is reduced to its class name.
  if (err instanceof Error && err.name === 'PayloadDecryptionError') return err.message;
  return err instanceof Error ? err.name : 'error';
}

function parsePayloads(body: unknown): Payload[] {
  if (!Buffer.isBuffer(body) || body.length === 0) throw new BadRequest('body must be JSON {"payloads":[...]}');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    // The parser's message quotes the body; say only what is wrong.
    throw new BadRequest('body is not valid JSON');
  }
  if (!isRecord(json)) throw new BadRequest('body must be JSON {"payloads":[...]}');
  const list = json.payloads ?? [];
  if (!Array.isArray(list)) throw new BadRequest('"payloads" must be an array');
  return list.map((p: unknown, i) => {
    if (!isRecord(p)) throw new BadRequest(`payloads[${i}] must be an object`);
    const metadata: Record<string, Uint8Array> = {};
    if (p.metadata !== undefined && p.metadata !== null) {
      if (!isRecord(p.metadata)) throw new BadRequest(`payloads[${i}].metadata must be an object`);
      for (const [k, v] of Object.entries(p.metadata)) {
        metadata[k] = fromBase64(v, `payloads[${i}].metadata.${k}`);
      }
    }
    const data =
      p.data === undefined || p.data === null ? new Uint8Array(0) : fromBase64(p.data, `payloads[${i}].data`);
    return { metadata, data };
  });
}

function fromBase64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !BASE64.test(v)) throw new BadRequest(`${what} must be a base64 string`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function toProtoJson(p: Payload): ProtoJsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (v) metadata[k] = Buffer.from(v).toString('base64');
  }
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array(0)).toString('base64') };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
