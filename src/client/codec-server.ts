/**
 * The codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to decode payloads
 * (DESIGN §5, ADR 0002). Protocol: POST `<endpoint>/decode` or `<endpoint>/encode` with a JSON `Payloads`
 * message in proto3 JSON form (`{ "payloads": [{ "metadata": { "encoding": "<base64>" }, "data": "<base64>" }] }`)
 * and the same shape back; the UI sends `X-Namespace`.
 *
 * Authentication, either of (no secret is ever part of a URL: the Web UI publishes its codec endpoint, unauthenticated,
 * in `/api/v1/settings`):
 * - `Authorization: Bearer <token>` (compared in constant time): the CLI (`temporal --codec-endpoint … --codec-auth`),
 *   server-side code, a UI that passes a bearer (`passAccessToken`);
 * - a session cookie, for the Web UI in a browser: the operator signs in once at `<mount>/login` with the token (or
 *   `POST <mount>/session` with the bearer), which sets `tenure_codec_session` (HttpOnly, SameSite=Strict, 12 hours,
 *   an HMAC of its expiry keyed with the token, so every intake replica accepts it and rotating the token ends it);
 *   the UI then calls with `credentials: "include"` (its codec setting `includeCredentials`, see `uiCodecSettings`).
 *   A cookie counts only on a request whose `Origin` is allowed: a browser always sends one, so a request without
 *   it (curl) must carry the bearer.
 * A request from an origin not in `allowedOrigins` is refused (403) whatever it carries. Nothing here logs a payload,
 * the token or a cookie.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type { Logger } from '../logger';
import type { Refusal } from './http-errors';
import { mediaType, requestIdOf, sendError } from './http-errors';
import type { CountRefusal } from './refusals';

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
  /** Told of every refusal before the caller is authenticated (counted and rate-limited, not audited one by one). */
  countRefusal?: CountRefusal;
  /** Records a refusal of an authenticated request (one audit row each). */
  recordRefusal?: (requestId: string, r: Refusal) => Promise<void>;
  /** How long a sign-in lasts. @default 43200 (12 hours) */
  sessionSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Request headers the Web UI sends and a preflight must allow. */
export const CODEC_ALLOWED_HEADERS = ['content-type', 'x-namespace', 'authorization'];
/** The Web UI's session cookie. */
export const CODEC_SESSION_COOKIE = 'tenure_codec_session';
/** Response header counting payloads `decode` could not decrypt (returned unchanged). */
export const FAILURES_HEADER = 'X-Tenure-Codec-Failures';

const MIN_TOKEN_LENGTH = 32;
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A random token for the codec endpoint: 32 bytes, base64url (URL-safe, so it can be a path segment). */
export function generateCodecToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * @deprecated Capability paths put the token in the Web UI's public settings and are no longer served; this returns
 * '' so callers that still append it get the plain endpoint. Configure the UI with `uiCodecSettings` instead.
 */
export function capabilityPath(_token: string): string {
  return '';
}

/** How the Temporal Web UI must be configured to call this codec endpoint (`codecUrl`: e.g. `http://127.0.0.1:8080/codec`). */
export interface UiCodecSettings {
  /** The codec endpoint, with no secret in it. */
  endpoint: string;
  /** The UI sends the signed-in user's access token as a bearer. Off: Tenure checks its own token, not an IdP's. */
  passAccessToken: false;
  /** The UI calls with `credentials: "include"`, so the session cookie from `loginUrl` goes along. */
  includeCredentials: true;
  /** Where an operator signs in (once per browser, for `sessionSeconds`). */
  loginUrl: string;
  /** `temporal server start-dev` arguments: it can set only the endpoint (not includeCredentials). */
  devServerArgs: string[];
  /** The standalone UI server (`temporalio/ui`, docker-compose): its codec environment. */
  uiServerEnv: Record<string, string>;
  /**
   * The UI's per-browser codec settings (its "Codec Server" panel; localStorage, JSON values): what the dev server
   * cannot set. A browser test can put these in localStorage before the UI loads.
   */
  browserSettings: {
    endpoint: string;
    includeCredentials: true;
    passAccessToken: false;
    overrideRemoteCodecConfiguration: true;
  };
}

/** The Web UI's codec settings for an endpoint mounted at `codecUrl` (no trailing slash needed). */
export function uiCodecSettings(codecUrl: string): UiCodecSettings {
  const endpoint = codecUrl.replace(/\/+$/, '');
  return {
    endpoint,
    passAccessToken: false,
    includeCredentials: true,
    loginUrl: `${endpoint}/login`,
    devServerArgs: ['--ui-codec-endpoint', endpoint],
    uiServerEnv: {
      TEMPORAL_CODEC_ENDPOINT: endpoint,
      TEMPORAL_CODEC_PASS_ACCESS_TOKEN: 'false',
      TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true',
    },
    browserSettings: {
      endpoint,
      includeCredentials: true,
      passAccessToken: false,
      overrideRemoteCodecConfiguration: true,
    },
  };
}

type Operation = 'decode' | 'encode';
type Via = 'bearer' | 'session';

interface ProtoJsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {}

/** Router with the codec endpoint; mount it with `app.use('/codec', createCodecRouter(...))`. */
export function createCodecRouter(opts: CodecRouterOptions): express.Router {
  const { codec, logger: log } = opts;
  const now = opts.now ?? Date.now;
  const sessionSeconds = opts.sessionSeconds ?? 43_200;
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
  const sessionMac = (expires: number): Buffer =>
    createHmac('sha256', opts.token).update(`tenure-codec-session:${expires}`).digest();
  const newSession = (): string => {
    const expires = Math.floor(now() / 1000) + sessionSeconds;
    return `v1.${expires}.${sessionMac(expires).toString('base64url')}`;
  };
  const sessionValid = (value: string | undefined): boolean => {
    const m = value ? /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires * 1000 <= now()) return false;
    return timingSafeEqual(Buffer.from(m[2] as string, 'base64url'), sessionMac(expires));
  };

  const router = express.Router();
  const bodyParser = express.raw({ type: () => true, limit: opts.bodyLimit ?? '8mb' });
  const formParser = express.urlencoded({ extended: false, limit: '4kb' });

  /** Refused before the caller is known: logged, counted (rate limit, aggregated evidence), the error shape. */
  const refuseUnauthenticated = (req: Request, res: Response, r: Refusal, fields: Record<string, unknown>): void => {
    log.warn({ ...fields, status: r.status, reason: r.error }, 'codec request refused');
    opts.countRefusal?.(req, res, r);
    sendError(res, r.status, r.error, r.message);
  };

  /** Sets CORS headers for an allowed origin; false for a browser request from any other origin. */
  const cors = (req: Request, res: Response): boolean => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin === undefined) return true; // not a browser: it must then carry the bearer (see `authenticate`)
    if (!origins.has(origin)) return false;
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Allow-Credentials', 'true');
    return true;
  };

  /** Who the caller is: the bearer (any origin allowed by CORS, or none), or a session cookie (allowed origin only). */
  const authenticate = (req: Request): Via | undefined => {
    if (tokenMatches(bearerToken(req.get('authorization')))) return 'bearer';
    if (req.get('origin') !== undefined && sessionValid(cookie(req, CODEC_SESSION_COOKIE))) return 'session';
    return undefined;
  };

  const preflight = (req: Request, res: Response): void => {
    if (!cors(req, res)) {
      refuseUnauthenticated(
        req,
        res,
        { status: 403, error: 'origin_not_allowed', message: 'this origin may not call the codec endpoint' },
        { codec: 'preflight', origin: req.get('origin') },
      );
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
    (operation: Operation) =>
    (req: Request, res: Response, next: NextFunction): void => {
      res.locals.codecStarted = Date.now();
      const fields = { codec: operation, namespace: namespaceOf(req), origin: req.get('origin') };
      if (!cors(req, res)) {
        return refuseUnauthenticated(
          req,
          res,
          { status: 403, error: 'origin_not_allowed', message: 'this origin may not call the codec endpoint' },
          fields,
        );
      }
      const via = authenticate(req);
      if (!via) {
        res.set('WWW-Authenticate', 'Bearer realm="tenure-codec"');
        return refuseUnauthenticated(
          req,
          res,
          {
            status: 401,
            error: 'unauthorized',
            message:
              'send "Authorization: Bearer <codec token>"; from the Web UI, sign in at the codec endpoint\'s /login ' +
              'and let the UI include credentials',
          },
          fields,
        );
      }
      res.locals.codecVia = via;
      if (mediaType(req) !== 'application/json') {
        const r = { status: 415, error: 'unsupported_media_type', message: 'Content-Type must be application/json' };
        log.warn({ ...fields, via, status: 415 }, 'codec request refused');
        void opts.recordRefusal?.(requestIdOf(res), r);
        return sendError(res, r.status, r.error, r.message);
      }
      next();
    };

  const handler = (operation: Operation) => async (req: Request, res: Response) => {
    const fields = { codec: operation, via: res.locals.codecVia as Via, namespace: namespaceOf(req) };
    res.set('Cache-Control', 'no-store');
    let payloads: Payload[];
    try {
      payloads = parsePayloads(req.body);
    } catch (err) {
      const message = err instanceof BadRequest ? err.message : 'malformed request';
      log.warn({ ...fields, status: 400, reason: message }, 'codec request refused');
      await opts.recordRefusal?.(requestIdOf(res), { status: 400, error: 'bad_request', message });
      sendError(res, 400, 'bad_request', message);
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
      sendError(res, 500, 'codec_failed', `could not ${operation} the payloads`);
    }
  };

  const setSession = (req: Request, res: Response): void => {
    const secure = req.secure ? '; Secure' : '';
    res.set(
      'Set-Cookie',
      `${CODEC_SESSION_COOKIE}=${newSession()}; Path=${req.baseUrl || '/'}; Max-Age=${sessionSeconds}; HttpOnly; SameSite=Strict${secure}`,
    );
    res.set('Cache-Control', 'no-store');
  };

  for (const operation of ['decode', 'encode'] as const) {
    const path = `/${operation}`;
    router.options(path, preflight);
    router.post(path, guard(operation), bodyParser, handler(operation));
  }

  // Sign-in for the Web UI: a bearer (POST /session) or the token typed into a form (GET/POST /login).
  router.post('/session', (req, res) => {
    if (!cors(req, res) || !tokenMatches(bearerToken(req.get('authorization')))) {
      res.set('WWW-Authenticate', 'Bearer realm="tenure-codec"');
      return refuseUnauthenticated(
        req,
        res,
        { status: 401, error: 'unauthorized', message: 'send "Authorization: Bearer <codec token>"' },
        { codec: 'session', origin: req.get('origin') },
      );
    }
    setSession(req, res);
    log.info({ codec: 'session', status: 204 }, 'codec session started');
    res.status(204).end();
  });
  router.get('/login', (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.set('Content-Security-Policy', "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'");
    res.type('html').send(LOGIN_PAGE);
  });
  router.post('/login', formParser, (req, res) => {
    const given = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof given !== 'string' || !tokenMatches(given.trim())) {
      return refuseUnauthenticated(
        req,
        res,
        { status: 401, error: 'unauthorized', message: 'that is not the codec token' },
        { codec: 'login' },
      );
    }
    setSession(req, res);
    log.info({ codec: 'login', status: 200 }, 'codec session started');
    res.type('html').send(SIGNED_IN_PAGE);
  });

  // Body-parser errors (too large, bad encoding): the error shape, never the body; the path is not logged.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const type = (err as { type?: unknown }).type;
    log.warn(
      { codec: 'request', namespace: namespaceOf(req), status, reason: type ?? 'error' },
      'codec request refused',
    );
    const r =
      status === 413
        ? { status, error: 'too_large', message: 'request body is too large' }
        : { status: status >= 500 ? 500 : status, error: 'bad_request', message: 'could not read the request body' };
    void opts.recordRefusal?.(requestIdOf(res), r);
    sendError(res, r.status, r.error, r.message);
  });
  return router;
}

const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><title>Tenure codec sign-in</title>
<form method="post" style="font:16px system-ui;margin:3em auto;max-width:28em">
<h1>Tenure codec</h1><p>Sign this browser in to decode payloads in the Temporal Web UI.</p>
<label>Codec token <input name="token" type="password" autocomplete="off" required style="width:100%"></label>
<p><button>Sign in</button></p></form>`;

const SIGNED_IN_PAGE = `<!doctype html><meta charset="utf-8"><title>Tenure codec</title>
<p style="font:16px system-ui;margin:3em auto;max-width:28em">Signed in. The Temporal Web UI can now decode payloads
(its codec setting "include cross-origin credentials" must be on).</p>`;

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
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
