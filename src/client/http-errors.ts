/**
 * One error shape for every endpoint of the intake server (docs/webhook.md, "Answers"):
 * `{ "error": "<code>", "message": "<what is wrong>", "requestId": "<uuid>" }`, plus `issues` where fields are named.
 * Never a stack, a file path, a body excerpt or a parser's own message.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Response header carrying the request id (also in every error body). */
export const REQUEST_ID_HEADER = 'X-Request-Id';

export interface ErrorBody {
  error: string;
  message: string;
  requestId: string;
  issues?: { path: string; message: string }[];
}

/** The request's id: assigned by `assignRequestId` (or here, for a router used on its own). */
export function requestIdOf(res: Response): string {
  const id = res.locals.requestId as unknown;
  if (typeof id === 'string') return id;
  const fresh = randomUUID();
  res.locals.requestId = fresh;
  if (!res.headersSent) res.set(REQUEST_ID_HEADER, fresh);
  return fresh;
}

/** First middleware: a fresh id for every request, in `res.locals.requestId` and the `X-Request-Id` header. */
export function assignRequestId(): RequestHandler {
  return (_req, res, next) => {
    requestIdOf(res);
    next();
  };
}

/** Sends the error shape. */
export function sendError(
  res: Response,
  status: number,
  error: string,
  message: string,
  extra: { issues?: ErrorBody['issues']; retryAfterSeconds?: number } = {},
): void {
  const body: ErrorBody = { error, message, requestId: requestIdOf(res) };
  if (extra.issues) body.issues = extra.issues;
  if (extra.retryAfterSeconds !== undefined) res.set('Retry-After', String(extra.retryAfterSeconds));
  res.status(status).json(body);
}

/** What an error from a body parser (or anything else thrown in a route) is answered with. */
export interface Refusal {
  status: number;
  error: string;
  message: string;
}

/**
 * Maps body-parser / raw-body errors (they carry `status` and `type`) to a refusal with our own words; anything
 * else is a 500 `internal`. The error's message is never used: raw-body's quotes the input, others name paths.
 */
export function refusalOf(err: unknown): Refusal {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; type?: unknown };
  const status = typeof e.status === 'number' ? e.status : 500;
  switch (e.type) {
    case 'entity.too.large':
      return { status: 413, error: 'too_large', message: 'the request body is larger than this endpoint accepts' };
    case 'encoding.unsupported':
      return {
        status: 415,
        error: 'unsupported_encoding',
        message: 'Content-Encoding must be identity, gzip, deflate or br',
      };
    case 'charset.unsupported':
      return { status: 415, error: 'unsupported_charset', message: 'the body must be UTF-8' };
    case 'request.aborted':
      return { status: 400, error: 'aborted', message: 'the request was aborted before its body arrived' };
    case 'request.size.invalid':
      return { status: 400, error: 'bad_length', message: 'the body does not match its Content-Length' };
    default:
      break;
  }
  if (status === 400 && err instanceof URIError) {
    return { status: 400, error: 'bad_path', message: 'the request path is not valid' };
  }
  if (status >= 400 && status < 500) {
    // zlib failures (a gzip body that is not gzip) and other unreadable bodies.
    return { status, error: 'unreadable_body', message: 'could not read the request body' };
  }
  return { status: 500, error: 'internal', message: 'internal error; quote the requestId to an operator' };
}

/** The media type of a request, lower case, without parameters; '' when absent. */
export function mediaType(req: Request): string {
  return (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Refuses with 415 unless the request's Content-Type is `type` (parameters such as `charset=utf-8` allowed).
 * `onRefuse` is told first (to count the refusal).
 */
export function requireContentType(
  type: string,
  onRefuse?: (req: Request, res: Response, r: Refusal) => void,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (mediaType(req) === type) return next();
    const r: Refusal = { status: 415, error: 'unsupported_media_type', message: `Content-Type must be ${type}` };
    onRefuse?.(req, res, r);
    sendError(res, r.status, r.error, r.message);
  };
}

/** The JSON parser's position, without the excerpt of the body its message quotes. */
export function jsonErrorMessage(err: unknown): string {
  const m = err instanceof Error ? /position (\d+)/.exec(err.message) : null;
  return m ? `body is not valid JSON (at position ${m[1]})` : 'body is not valid JSON';
}
