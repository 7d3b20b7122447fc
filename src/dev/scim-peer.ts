/**
 * A real SCIM 2.0 service provider (RFC 7643/7644) for tests and the local demo, built on SCIMMY and
 * SCIMMYRouters over express. Several peers can run in one process, each with its own in-memory store.
 *
 * SCIMMY is a process-wide singleton: resource handlers are declared once, globally, and every handler
 * finds its peer's store in the per-request `ctx` that each peer's router supplies through `context`.
 *
 * With `vendor`, a peer behaves like that vendor's SCIM service where it differs from RFC 7644, and rejects
 * what that vendor rejects (see {@link ScimVendor} and docs/connectors.md).
 *
 * Every peer also stands in for the two vendor sessions APIs Tenure calls for leavers (SCIM has none), outside
 * the SCIM base: Okta's `DELETE /api/v1/users/{id}/sessions` and Microsoft Graph's
 * `POST /v1.0/users/{id}/revokeSignInSessions`, over this peer's users (see {@link ScimPeer.openSession}).
 *
 * Also a CLI: `node -r tsx/cjs src/dev/scim-peer.ts --port 7301 --name idp [--token T] [--host H] [--vendor V]`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** Where the SCIM endpoints are mounted on every peer. */
const BASE_PATH = '/scim/v2';
/** Attributes whose values compare case-insensitively (RFC 7643 `caseExact: false`). */
const CASE_INSENSITIVE_ATTRIBUTES = new Set(['username', 'displayname']);

// ---------------------------------------------------------------------------------------------------
// Public types

/**
 * How the peer behaves where vendors depart from RFC 7644:
 *
 * - `generic`: SCIMMY as it is: strict types, so `"True"`/`"False"` strings for booleans are a 400.
 * - `okta`: a server built to Okta's SCIM guide. Okta only ever filters Users on `userName eq` and Groups on
 *   `displayName eq`; any other filter is a 400 `invalidFilter`.
 * - `entra`: a server built for Microsoft Entra ID. Accepts the string booleans `"True"`/`"False"` Entra sends
 *   (in POST/PUT bodies and PATCH values, for `active` and `primary`) and capitalised op names (`"Replace"`),
 *   and sends `active` back as `"True"`/`"False"`.
 * - `github`: GitHub's SCIM API. No filters in PATCH paths (a `path` with `[` is a 400 `invalidPath`);
 *   `emails` and `name.givenName`/`name.familyName` are required on create; setting `active` to false (PATCH
 *   or PUT) removes the user, as DELETE does.
 * - `slack`: Slack's SCIM API. `emails` is required on create; DELETE only deactivates: the user stays, with
 *   `active: false`.
 */
export type ScimVendor = 'generic' | 'okta' | 'entra' | 'github' | 'slack';

export const SCIM_VENDORS: readonly ScimVendor[] = ['generic', 'okta', 'entra', 'github', 'slack'];

export interface ScimPeerOptions {
  /** TCP port; default 0 (any free port). */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** When set, every SCIM request must carry `Authorization: Bearer <token>`; otherwise 401. Default: none. */
  token?: string;
  /** A label for logs and error details; default `scim-peer`. */
  name?: string;
  /** Milliseconds since the epoch, for `createdAt`, `meta.created/lastModified` and the request log; default `Date.now`. */
  clock?: () => number;
  /** Largest page a list request may get, whatever `count` asks for; also the default page size. Default 50. */
  maxPageSize?: number;
  /** Behave like this vendor's SCIM service; default `generic`. */
  vendor?: ScimVendor;
  /**
   * Throttle like a vendor's API: SCIM requests beyond `requestsPerSecond` in any trailing second are answered
   * 429 with `Retry-After` (whole seconds, as Okta and Graph send it). Default: no limit.
   */
  rateLimit?: { requestsPerSecond: number };
}

export interface ScimEmail {
  value: string;
  type?: string;
  primary?: boolean;
}

/** A user as the peer holds it. */
export interface ScimUserRecord {
  id: string;
  userName: string;
  externalId?: string;
  active: boolean;
  name?: { givenName?: string; familyName?: string };
  emails?: ScimEmail[];
  /** `clock()` when the user was created. */
  createdAt: number;
  /** `clock()` when the user was last written. */
  lastModified: number;
  /** Creation sequence number shared by every peer in the process; strictly increasing. */
  seq: number;
  /** The full SCIM representation as stored (no `id`/`meta`). */
  raw: Record<string, unknown>;
}

export interface ScimRequestLogEntry {
  method: string;
  /** Path without the query string, e.g. `/scim/v2/Users`. */
  path: string;
  /** Path with the query string. */
  url: string;
  /** `clock()` when the request arrived. */
  at: number;
  /** Response status; 0 while in flight or when the response was dropped. */
  status: number;
  /** `clock()` when the answer was sent; absent while in flight. */
  finishedAt?: number;
  /** The parsed JSON body of a request that had one (as received, before any vendor conversion). */
  body?: unknown;
}

/**
 * Which requests a fault applies to. Paths are relative to the SCIM base, e.g. `/Users`; for the sessions
 * stand-ins they are the full path, e.g. `/api/v1/users/<id>/sessions` (only `next` status faults apply there).
 */
export interface FaultMatch {
  /** HTTP method, case-insensitive; default: any. */
  method?: string;
  /** A string matches as a prefix; a RegExp is tested. Default: any. */
  path?: string | RegExp;
}

export interface FaultSpec extends FaultMatch {
  /** Status to answer with. */
  status: number;
  /** `Retry-After` header value: seconds (number) or an HTTP-date (string). */
  retryAfter?: number | string;
  /** Response body; default a SCIM error message naming the fault. */
  body?: unknown;
  /** Extra response headers, e.g. `{ 'X-RateLimit-Remaining': '0' }`. */
  headers?: Record<string, string>;
}

export interface FaultInjector {
  /** The next `n` matching requests are answered with `spec.status` before they reach SCIMMY. */
  next(n: number, spec: FaultSpec): void;
  /** The next `n` matching writes (POST/PUT/PATCH/DELETE) are performed, then the socket is destroyed instead of answering. */
  dropResponseAfterWrite(n: number, match?: FaultMatch): void;
  /**
   * The next `n` matching requests wait `ms` before being handled (to provoke client timeouts). A client
   * that gives up first aborts the request, and a write that was not yet read is then not performed.
   */
  delay(n: number, ms: number, match?: FaultMatch): void;
  /** The next `n` matching requests are performed at once, and their answer is held back `ms` (a timeout after the write). */
  delayResponse(n: number, ms: number, match?: FaultMatch): void;
  /** Before the next `n` matching requests are handled, run `fn` (e.g. to create a competing account). */
  before(n: number, fn: () => unknown, match?: FaultMatch): void;
  /** Forget every pending fault. */
  clear(): void;
  /** How many injected faults are still pending. */
  readonly pending: number;
}

/** One successful call to a sessions stand-in. */
export interface SessionRevocationRecord {
  /** The SCIM id of the user whose sessions were revoked. */
  userId: string;
  /** `clock()` when the call was answered. */
  at: number;
  /** Which stand-in was called: Okta's Users API or Microsoft Graph. */
  api: 'okta' | 'entra';
  /** How many sessions were active before the call (0 for a repeated call). */
  ended: number;
  /** Okta only: whether `oauthTokens=true` asked for OAuth/OIDC tokens to be revoked too. */
  oauthTokens?: boolean;
}

export interface ScimPeer {
  /** Base URL ending in `/scim/v2`. */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** Users in creation order. */
  users(): ScimUserRecord[];
  /** Every request received, oldest first (including ones answered by injected faults). */
  readonly requests: ScimRequestLogEntry[];
  readonly faults: FaultInjector;
  readonly vendor: ScimVendor;
  /** Create a group directly in the store (test setup); returns its id. */
  createGroup(displayName: string, memberIds?: string[]): string;
  /** A group's member ids, or `undefined` when there is no such group. */
  groupMembers(groupId: string): string[] | undefined;
  /**
   * Test helper: the user signs in, opening one more session. Throws when the user does not exist in this
   * peer or is inactive (an inactive user cannot sign in).
   */
  openSession(userId: string): void;
  /** The user's open sessions; 0 for a user that has none or does not exist. */
  activeSessions(userId: string): number;
  /** Every successful call to a sessions stand-in, oldest first. Each sets the user's open sessions to 0. */
  sessionRevocations(): SessionRevocationRecord[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Process-wide state: SCIMMY handlers are global, so is the creation sequence.

interface StoredUser {
  id: string;
  data: Record<string, unknown>;
  createdAt: number;
  lastModified: number;
  seq: number;
}

interface StoredGroup {
  id: string;
  data: Record<string, unknown>;
  createdAt: number;
  lastModified: number;
}

interface PeerStore {
  name: string;
  clock: () => number;
  users: Map<string, StoredUser>;
  groups: Map<string, StoredGroup>;
  /** Users by lower-cased `userName` and by `externalId` (case-exact): filtered GETs and uniqueness never scan. */
  byUserName: Map<string, StoredUser>;
  byExternalId: Map<string, StoredUser>;
}

function indexUser(store: PeerStore, user: StoredUser): void {
  const { userName, externalId } = user.data;
  if (typeof userName === 'string') store.byUserName.set(userName.toLowerCase(), user);
  if (typeof externalId === 'string') store.byExternalId.set(externalId, user);
}

function unindexUser(store: PeerStore, user: StoredUser): void {
  const { userName, externalId } = user.data;
  if (typeof userName === 'string' && store.byUserName.get(userName.toLowerCase()) === user) {
    store.byUserName.delete(userName.toLowerCase());
  }
  if (typeof externalId === 'string' && store.byExternalId.get(externalId) === user) {
    store.byExternalId.delete(externalId);
  }
}

/** The users an `eq` filter on an indexed attribute can match (at most one), or `undefined` for other filters. */
function indexedCandidates(store: PeerStore, eq: EqFilter | undefined): StoredUser[] | undefined {
  if (!eq) return undefined;
  const attr = eq.attr.toLowerCase();
  let hit: StoredUser | undefined;
  if (attr === 'username') hit = store.byUserName.get(eq.value.toLowerCase());
  else if (attr === 'externalid') hit = store.byExternalId.get(eq.value);
  else return undefined;
  return hit ? [hit] : [];
}

/** A whole-filter `attr eq "value"` decoded by the peer (SCIMMY's parser cannot read escaped quotes). */
interface EqFilter {
  attr: string;
  value: string;
}

/** What each peer's router hands to the SCIMMY handlers as `ctx`. */
interface PeerContext {
  store: PeerStore;
  eq?: EqFilter;
  maxPageSize: number;
  vendor: ScimVendor;
}

interface ProcessState {
  declared: boolean;
  seq: number;
}

const STATE_KEY = Symbol.for('tenure.dev.scimPeer');

function processState(): ProcessState {
  const holder = globalThis as unknown as Record<symbol, ProcessState | undefined>;
  let state = holder[STATE_KEY];
  if (!state) {
    state = { declared: false, seq: 0 };
    holder[STATE_KEY] = state;
  }
  return state;
}

type Json = Record<string, unknown>;

function scimError(status: number, scimType: string | undefined, detail: string): Error {
  // SCIMMY's typings demand a string scimType; it treats a missing one as "none".
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

function toPlain(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asContext(ctx: unknown): PeerContext {
  if (!isObject(ctx) || !isObject(ctx.store)) throw scimError(500, undefined, 'SCIM peer context missing');
  return ctx as unknown as PeerContext;
}

/** Strip what the client may not set and SCIMMY's inbound `meta.resourceType`. */
function inbound(instance: unknown): Json {
  const data = toPlain(instance);
  delete data.id;
  delete data.meta;
  return data;
}

function sameText(a: unknown, b: unknown, caseExact: boolean): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  return caseExact ? a === b : a.toLowerCase() === b.toLowerCase();
}

function userView(store: PeerStore, user: StoredUser): Json {
  const groups = [...store.groups.values()]
    .filter((g) => Array.isArray(g.data.members) && g.data.members.some((m) => isObject(m) && m.value === user.id))
    .map((g) => ({ value: g.id, display: g.data.displayName, type: 'direct' }));
  return {
    ...user.data,
    id: user.id,
    ...(groups.length ? { groups } : {}),
    meta: { resourceType: 'User', created: new Date(user.createdAt), lastModified: new Date(user.lastModified) },
  };
}

function groupView(group: StoredGroup): Json {
  return {
    ...group.data,
    id: group.id,
    meta: { resourceType: 'Group', created: new Date(group.createdAt), lastModified: new Date(group.lastModified) },
  };
}

/** Resolve a top-level attribute case-insensitively, as SCIM attribute names are. */
function attribute(view: Json, attr: string): unknown {
  const key = Object.keys(view).find((k) => k.toLowerCase() === attr.toLowerCase());
  return key === undefined ? undefined : view[key];
}

type ListableResource = InstanceType<typeof SCIMMY.Types.Resource>;

/**
 * Filter and page a list for SCIMMY's ListResponse. SCIMMY pages the array it is given, but only when
 * `startIndex` falls inside it, so past the end we hand it nothing and tell it the real total.
 */
function list(resource: ListableResource, ctx: PeerContext, views: Json[]): Json[] {
  let matched = views;
  if (ctx.eq) {
    const { attr, value } = ctx.eq;
    const caseExact = !CASE_INSENSITIVE_ATTRIBUTES.has(attr.toLowerCase());
    matched = matched.filter((v) => sameText(attribute(v, attr), value, caseExact));
  } else if (resource.filter) {
    matched = resource.filter.match(matched) as Json[];
  }
  const requested = resource.constraints?.count;
  const count = Math.min(requested ?? ctx.maxPageSize, ctx.maxPageSize);
  const startIndex = resource.constraints?.startIndex ?? 1;
  resource.constraints = { ...resource.constraints, count, startIndex };
  if (startIndex > matched.length) {
    (resource.constraints as { totalResults?: number }).totalResults = matched.length;
    return [];
  }
  return matched;
}

function removeUser(store: PeerStore, id: string): void {
  const user = store.users.get(id);
  if (user) unindexUser(store, user);
  store.users.delete(id);
  for (const group of store.groups.values()) {
    if (Array.isArray(group.data.members)) {
      group.data.members = group.data.members.filter((m) => !(isObject(m) && m.value === id));
    }
  }
}

function assertUserUnique(store: PeerStore, data: Json, selfId: string | undefined): void {
  const { userName, externalId } = data;
  if (typeof userName === 'string') {
    const other = store.byUserName.get(userName.toLowerCase());
    if (other && other.id !== selfId) throw scimError(409, 'uniqueness', `userName '${userName}' is already in use`);
  }
  if (typeof externalId === 'string') {
    const other = store.byExternalId.get(externalId);
    if (other && other.id !== selfId) {
      throw scimError(409, 'uniqueness', `externalId '${externalId}' is already in use`);
    }
  }
}

function declareHandlers(): void {
  const state = processState();
  if (state.declared) return;
  state.declared = true;

  const { User, Group } = SCIMMY.Resources;
  SCIMMY.Resources.declare(User.extend(SCIMMY.Schemas.EnterpriseUser, false));
  SCIMMY.Resources.declare(Group);

  User.ingress((resource, instance, rawCtx) => {
    const ctx = asContext(rawCtx);
    const { store } = ctx;
    const data = inbound(instance);
    // SCIM leaves `active` to the provider; like most providers, a user is active unless told otherwise.
    if (typeof data.active !== 'boolean') data.active = true;
    const now = store.clock();
    if (resource.id) {
      const existing = store.users.get(resource.id);
      if (!existing) throw scimError(404, undefined, `Resource ${resource.id} not found`);
      assertUserUnique(store, data, existing.id);
      unindexUser(store, existing);
      existing.data = data;
      indexUser(store, existing);
      existing.lastModified = now;
      const view = userView(store, existing);
      // GitHub: "setting active: false removes the user ... and deletes the associated SCIM user id".
      if (ctx.vendor === 'github' && data.active === false) removeUser(store, existing.id);
      return view as never;
    }
    assertUserUnique(store, data, undefined);
    const state = processState();
    state.seq += 1;
    const user: StoredUser = { id: randomUUID(), data, createdAt: now, lastModified: now, seq: state.seq };
    store.users.set(user.id, user);
    indexUser(store, user);
    return userView(store, user) as never;
  });

  User.egress((resource, rawCtx) => {
    const ctx = asContext(rawCtx);
    const { store } = ctx;
    if (resource.id) {
      const user = store.users.get(resource.id);
      if (!user) throw scimError(404, undefined, `Resource ${resource.id} not found`);
      return userView(store, user) as never;
    }
    // A filter on userName or externalId (every lookup Tenure makes) reads the index, not every user.
    const users = indexedCandidates(store, ctx.eq) ?? [...store.users.values()].sort((a, b) => a.seq - b.seq);
    return list(
      resource,
      ctx,
      users.map((u) => userView(store, u)),
    ) as never;
  });

  User.degress((resource, rawCtx) => {
    const { store, vendor } = asContext(rawCtx);
    const id = resource.id ?? '';
    const user = store.users.get(id);
    if (!user) throw scimError(404, undefined, `Resource ${id} not found`);
    if (vendor === 'slack') {
      // Slack: DELETE deactivates; the user stays.
      user.data = { ...user.data, active: false };
      user.lastModified = store.clock();
      return;
    }
    removeUser(store, id);
  });

  Group.ingress((resource, instance, rawCtx) => {
    const { store } = asContext(rawCtx);
    const data = inbound(instance);
    const now = store.clock();
    if (Array.isArray(data.members)) {
      for (const member of data.members) {
        const value = isObject(member) ? member.value : undefined;
        if (typeof value !== 'string' || !(store.users.has(value) || store.groups.has(value))) {
          throw scimError(400, 'invalidValue', `Group member '${String(value)}' does not exist`);
        }
      }
    }
    if (resource.id) {
      const existing = store.groups.get(resource.id);
      if (!existing) throw scimError(404, undefined, `Resource ${resource.id} not found`);
      existing.data = data;
      existing.lastModified = now;
      return groupView(existing) as never;
    }
    const group: StoredGroup = { id: randomUUID(), data, createdAt: now, lastModified: now };
    store.groups.set(group.id, group);
    return groupView(group) as never;
  });

  Group.egress((resource, rawCtx) => {
    const ctx = asContext(rawCtx);
    if (resource.id) {
      const group = ctx.store.groups.get(resource.id);
      if (!group) throw scimError(404, undefined, `Resource ${resource.id} not found`);
      return groupView(group) as never;
    }
    return list(resource, ctx, [...ctx.store.groups.values()].map(groupView)) as never;
  });

  Group.degress((resource, rawCtx) => {
    const { store } = asContext(rawCtx);
    const id = resource.id ?? '';
    if (!store.groups.delete(id)) throw scimError(404, undefined, `Resource ${id} not found`);
  });
}

// ---------------------------------------------------------------------------------------------------
// Fault injection

type Rule =
  | { kind: 'status'; remaining: number; match: FaultMatch; spec: FaultSpec }
  | { kind: 'drop'; remaining: number; match: FaultMatch }
  | { kind: 'delay'; remaining: number; match: FaultMatch; ms: number }
  | { kind: 'slow'; remaining: number; match: FaultMatch; ms: number }
  | { kind: 'before'; remaining: number; match: FaultMatch; fn: () => unknown };

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? path.startsWith(match.path) : match.path.test(path);
}

class Faults implements FaultInjector {
  private rules: Rule[] = [];

  next(n: number, spec: FaultSpec): void {
    this.add({ kind: 'status', remaining: n, match: spec, spec });
  }

  dropResponseAfterWrite(n: number, match: FaultMatch = {}): void {
    this.add({ kind: 'drop', remaining: n, match });
  }

  delay(n: number, ms: number, match: FaultMatch = {}): void {
    this.add({ kind: 'delay', remaining: n, match, ms });
  }

  delayResponse(n: number, ms: number, match: FaultMatch = {}): void {
    this.add({ kind: 'slow', remaining: n, match, ms });
  }

  before(n: number, fn: () => unknown, match: FaultMatch = {}): void {
    this.add({ kind: 'before', remaining: n, match, fn });
  }

  clear(): void {
    this.rules = [];
  }

  get pending(): number {
    return this.rules.reduce((sum, r) => sum + r.remaining, 0);
  }

  /** Consume the first pending rule of `kind` that matches the request. */
  take<K extends Rule['kind']>(kind: K, method: string, path: string): Extract<Rule, { kind: K }> | undefined {
    const rule = this.rules.find(
      (r): r is Extract<Rule, { kind: K }> =>
        r.kind === kind &&
        r.remaining > 0 &&
        matches(r.match, method, path) &&
        (kind !== 'drop' || WRITE_METHODS.has(method)),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return rule;
  }

  private add(rule: Rule): void {
    if (!Number.isInteger(rule.remaining) || rule.remaining < 0)
      throw new RangeError('fault count must be a non-negative integer');
    if (rule.remaining > 0) this.rules.push(rule);
  }
}

// ---------------------------------------------------------------------------------------------------
// The server

function sendScimError(res: Response, status: number, detail: string, scimType?: string): void {
  res
    .status(status)
    .type('application/scim+json')
    .send(
      JSON.stringify({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail }),
    );
}

function tokenMatches(header: string | undefined, token: string): boolean {
  return authorizationIs(header, 'Bearer', token);
}

/** True when the Authorization header is exactly `<scheme> <token>` (timing-safe). */
function authorizationIs(header: string | undefined, scheme: string, token: string): boolean {
  const expected = Buffer.from(`${scheme} ${token}`);
  const actual = Buffer.from(header ?? '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// ---------------------------------------------------------------------------------------------------
// Vendor sessions APIs (stand-ins)

/** Okta's error body: `errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`. */
function sendOktaError(res: Response, status: number, errorCode: string, errorSummary: string): void {
  res.status(status).json({
    errorCode,
    errorSummary,
    errorLink: errorCode,
    errorId: `oae${randomUUID().replace(/-/g, '').slice(0, 19)}`,
    errorCauses: [],
  });
}

/** Microsoft Graph's error body: `{ error: { code, message } }`. */
function sendGraphError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

// ---------------------------------------------------------------------------------------------------
// Vendor dialects

interface Refusal {
  detail: string;
  scimType: string;
}

const LIST_PATH = /^\/(Users|Groups)\/?$/;

/** What `vendor` refuses that SCIMMY would accept; `undefined` when the request may go on. */
function vendorRefusal(vendor: ScimVendor, req: Request, eq: EqFilter | undefined): Refusal | undefined {
  const method = req.method.toUpperCase();
  const body: unknown = req.body;
  if (vendor === 'okta' && method === 'GET') {
    const list = LIST_PATH.exec(req.path);
    if (list) {
      const allowed = list[1] === 'Users' ? 'userName' : 'displayName';
      const query = req.query as Record<string, unknown>;
      if (query.filter !== undefined || (eq && eq.attr.toLowerCase() !== allowed.toLowerCase())) {
        return {
          scimType: 'invalidFilter',
          detail: `Only 'filter=${allowed} eq "…"' is supported on /${list[1]} (Okta integration)`,
        };
      }
    }
  }
  if (vendor === 'github' && method === 'PATCH' && isObject(body) && Array.isArray(body.Operations)) {
    for (const op of body.Operations) {
      if (isObject(op) && typeof op.path === 'string' && op.path.includes('[')) {
        return { scimType: 'invalidPath', detail: `Filters are not supported in PATCH paths: '${op.path}'` };
      }
    }
  }
  if ((vendor === 'github' || vendor === 'slack') && method === 'POST' && /^\/Users\/?$/.test(req.path)) {
    if (!isObject(body)) return undefined;
    if (!Array.isArray(body.emails) || body.emails.length === 0) {
      return { scimType: 'invalidValue', detail: "Required attribute 'emails' is missing" };
    }
    if (vendor === 'github') {
      const name = isObject(body.name) ? body.name : {};
      if (typeof name.givenName !== 'string' || typeof name.familyName !== 'string') {
        return { scimType: 'invalidValue', detail: "Required attributes 'name.givenName' and 'name.familyName'" };
      }
    }
  }
  return undefined;
}

/** Attributes whose string booleans Entra ID sends. */
const ENTRA_BOOLEANS = new Set(['active', 'primary']);

function entraBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : value;
}

function entraBooleans(value: unknown, key?: string): unknown {
  if (key !== undefined && ENTRA_BOOLEANS.has(key.toLowerCase())) return entraBoolean(value);
  if (Array.isArray(value)) return value.map((v) => entraBooleans(v));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, entraBooleans(v, k)]));
  return value;
}

/** The attribute a PATCH path ends in: `emails[type eq "work"].primary` → `primary`. */
function lastAttribute(path: string): string {
  return (
    path
      .replace(/\[[^\]]*\]/g, '')
      .split(/[.:]/)
      .pop() ?? ''
  );
}

/** Entra's `"True"`/`"False"` strings to booleans, in resource bodies and PATCH values. */
function entraInbound(body: Json, method: string): Json {
  if (method === 'PATCH' && Array.isArray(body.Operations)) {
    return {
      ...body,
      Operations: body.Operations.map((op: unknown) => {
        if (!isObject(op)) return op;
        const path = typeof op.path === 'string' ? op.path : undefined;
        const value = path !== undefined ? entraBooleans(op.value, lastAttribute(path)) : entraBooleans(op.value);
        return { ...op, value };
      }),
    };
  }
  return method === 'POST' || method === 'PUT' ? (entraBooleans(body) as Json) : body;
}

/** Users go out with `active` as `"True"`/`"False"`, as Entra-built servers answer. */
function entraOutbound(body: unknown): unknown {
  if (!isObject(body)) return body;
  const user = (resource: unknown): unknown =>
    isObject(resource) && typeof resource.active === 'boolean'
      ? { ...resource, active: resource.active ? 'True' : 'False' }
      : resource;
  if (Array.isArray(body.Resources)) return { ...body, Resources: body.Resources.map(user) };
  return user(body);
}

const EQ_FILTER = /^\s*([A-Za-z][A-Za-z0-9_$-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/** Start a SCIM peer. Resolves once it is listening. */
export async function startScimPeer(opts: ScimPeerOptions = {}): Promise<ScimPeer> {
  const host = opts.host ?? '127.0.0.1';
  const name = opts.name ?? 'scim-peer';
  const clock = opts.clock ?? Date.now;
  const maxPageSize = opts.maxPageSize ?? 50;
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1) throw new RangeError('maxPageSize must be a positive integer');
  const token = opts.token;
  const vendor = opts.vendor ?? 'generic';
  if (!SCIM_VENDORS.includes(vendor)) throw new RangeError(`unknown SCIM vendor ${JSON.stringify(vendor)}`);

  declareHandlers();

  const store: PeerStore = {
    name,
    clock,
    users: new Map(),
    groups: new Map(),
    byUserName: new Map(),
    byExternalId: new Map(),
  };
  const limit = opts.rateLimit?.requestsPerSecond;
  if (limit !== undefined && !(Number.isFinite(limit) && limit > 0)) {
    throw new RangeError('rateLimit.requestsPerSecond must be a positive number');
  }
  /** `clock()` of the SCIM requests let through in the trailing second (the throttle's window). */
  const admitted: number[] = [];
  const faults = new Faults();
  const requests: ScimRequestLogEntry[] = [];
  const eqFilters = new WeakMap<Request, EqFilter>();
  const logEntries = new WeakMap<Request, ScimRequestLogEntry>();
  let origin = '';

  const router = new SCIMMYRouters({
    type: 'bearer',
    handler: (req) => {
      if (token !== undefined && !tokenMatches(req.header('authorization'), token)) {
        throw new Error('Missing or invalid bearer token');
      }
      return 'tenure';
    },
    context: (req): PeerContext => ({ store, eq: eqFilters.get(req), maxPageSize, vendor }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Request log.
  app.use((req, res, next) => {
    const entry: ScimRequestLogEntry = {
      method: req.method,
      path: req.path,
      url: req.originalUrl,
      at: clock(),
      status: 0,
    };
    requests.push(entry);
    logEntries.set(req, entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.finishedAt = clock();
    });
    next();
  });

  // The vendor's throttle: over the limit in the trailing second is a 429 with Retry-After, nothing is done.
  if (limit !== undefined) {
    app.use(BASE_PATH, (_req, res, next) => {
      const now = clock();
      while (admitted.length > 0 && (admitted[0] ?? 0) <= now - 1000) admitted.shift();
      if (admitted.length >= limit) {
        res.setHeader('Retry-After', '1');
        sendScimError(res, 429, `Too many requests: the limit is ${limit} per second`);
        return;
      }
      admitted.push(now);
      next();
    });
  }

  app.use(BASE_PATH, (req, res, next) => {
    void (async () => {
      const method = req.method.toUpperCase();
      const delay = faults.take('delay', method, req.path);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
      const before = faults.take('before', method, req.path);
      if (before) await before.fn();
      const fault = faults.take('status', method, req.path);
      if (fault) {
        const { status, retryAfter, body, headers } = fault.spec;
        if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
        for (const [header, value] of Object.entries(headers ?? {})) res.setHeader(header, value);
        if (body !== undefined) {
          res.status(status).json(body);
        } else {
          sendScimError(res, status, `Injected fault ${status} from SCIM peer '${name}'`);
        }
        return;
      }
      const slow = faults.take('slow', method, req.path);
      if (slow) {
        // Let the request be handled now, but hold the answer back.
        const end = res.end.bind(res) as (...args: unknown[]) => Response;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => {
            if (!req.socket.destroyed) end(...args);
          }, slow.ms);
          return res;
        }) as typeof res.end;
      }
      if (faults.take('drop', method, req.path)) {
        // Let the write happen, then lose the answer.
        res.end = (() => {
          req.socket.destroy();
          return res;
        }) as typeof res.end;
      }
      next();
    })().catch(next);
  });

  // Body parsing (before SCIMMYRouters' own parser, which then skips) so that bad JSON is a SCIM error.
  app.use(BASE_PATH, express.json({ type: ['application/scim+json', 'application/json'], limit: '1mb' }));
  app.use(BASE_PATH, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = isObject(err) && typeof err.status === 'number' ? err.status : 500;
    if (status === 400) sendScimError(res, 400, `Request body is not valid JSON`, 'invalidSyntax');
    else if (status < 500) sendScimError(res, status, err instanceof Error ? err.message : 'Bad request');
    else next(err);
  });

  app.use(BASE_PATH, (req, res, next) => {
    const entry = logEntries.get(req);
    if (entry && req.body !== undefined) entry.body = toPlain({ body: req.body as unknown }).body;
    // Express 5 re-parses `req.query` on every read, so SCIMMYRouters' numeric casts of startIndex/count
    // would be lost; pin the parsed object so they stick.
    const query: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true, enumerable: true });

    const method = req.method.toUpperCase();
    if (method === 'GET' && typeof query.filter === 'string') {
      const m = EQ_FILTER.exec(query.filter);
      if (m && m[1] !== undefined && m[2] !== undefined) {
        let value: unknown;
        try {
          value = JSON.parse(`"${m[2]}"`);
        } catch {
          sendScimError(res, 400, 'Invalid escape in filter string', 'invalidFilter');
          return;
        }
        eqFilters.set(req, { attr: m[1], value: String(value) });
        delete query.filter;
      }
    }

    // RFC 7643 §3: `schemas` is required on every resource sent to the provider.
    if (
      (method === 'POST' || method === 'PUT') &&
      /^\/(Users|Groups)(\/[^/]+)?\/?$/.test(req.path) &&
      !req.path.endsWith('/.search')
    ) {
      const body: unknown = req.body;
      if (isObject(body) && !Array.isArray(body.schemas)) {
        sendScimError(res, 400, "Request body is missing the 'schemas' attribute", 'invalidSyntax');
        return;
      }
    }
    if (method === 'POST' && req.path.endsWith('/.search') && isObject(req.body)) {
      const count = req.body.count;
      req.body.count = typeof count === 'number' ? Math.min(count, maxPageSize) : maxPageSize;
    }

    // SCIMMY writes relative `meta.location`s (its base path is global, so per-peer absolute ones
    // would race between peers) and sets `itemsPerPage` to the requested count; fix both on the way out.
    const json = res.json.bind(res);
    res.json = ((body: unknown) => {
      if (!isObject(body)) return json(body);
      const plain = toPlain(body);
      const absolutize = (resource: unknown): void => {
        if (isObject(resource) && isObject(resource.meta) && typeof resource.meta.location === 'string') {
          if (resource.meta.location.startsWith('/')) resource.meta.location = origin + resource.meta.location;
        }
      };
      if (Array.isArray(plain.schemas) && plain.schemas.includes(LIST_SCHEMA) && Array.isArray(plain.Resources)) {
        plain.Resources.forEach(absolutize);
        plain.itemsPerPage = plain.Resources.length;
      } else {
        absolutize(plain);
        if (res.statusCode === 201 && isObject(plain.meta) && typeof plain.meta.location === 'string') {
          res.location(plain.meta.location);
        }
      }
      return json(plain);
    }) as typeof res.json;
    next();
  });

  // Vendor behaviour: refuse what the vendor refuses, and speak its dialect.
  app.use(BASE_PATH, (req, res, next) => {
    const refusal = vendorRefusal(vendor, req, eqFilters.get(req));
    if (refusal) {
      sendScimError(res, 400, refusal.detail, refusal.scimType);
      return;
    }
    if (vendor === 'entra') {
      if (isObject(req.body)) req.body = entraInbound(req.body, req.method.toUpperCase());
      const json = res.json.bind(res);
      res.json = ((body: unknown) => json(entraOutbound(body))) as typeof res.json;
    }
    next();
  });

  app.use(BASE_PATH, router);

  // Vendor sessions APIs, outside the SCIM base. Only status faults (`faults.next`) apply, on the full path.
  const sessionCounts = new Map<string, number>();
  const revocations: SessionRevocationRecord[] = [];
  const revoke = (userId: string, api: 'okta' | 'entra', oauthTokens?: boolean): void => {
    const record: SessionRevocationRecord = { userId, at: clock(), api, ended: sessionCounts.get(userId) ?? 0 };
    if (oauthTokens !== undefined) record.oauthTokens = oauthTokens;
    sessionCounts.set(userId, 0);
    revocations.push(record);
  };
  const injected = (req: Request, res: Response, send: (status: number) => void): boolean => {
    const fault = faults.take('status', req.method.toUpperCase(), req.path);
    if (!fault) return false;
    const { status, retryAfter, body, headers } = fault.spec;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    for (const [header, value] of Object.entries(headers ?? {})) res.setHeader(header, value);
    if (body !== undefined) res.status(status).json(body);
    else send(status);
    return true;
  };

  // Okta Users API, "Revoke all user sessions": 204, also for a user without sessions.
  app.delete('/api/v1/users/:id/sessions', (req: Request<{ id: string }>, res) => {
    const fault = injected(req, res, (status) =>
      sendOktaError(res, status, 'E0000009', `Injected fault ${status} from SCIM peer '${name}'`),
    );
    if (fault) return;
    if (token !== undefined && !authorizationIs(req.header('authorization'), 'SSWS', token)) {
      sendOktaError(res, 401, 'E0000011', 'Invalid token provided');
      return;
    }
    const { id } = req.params;
    if (!store.users.has(id)) {
      sendOktaError(res, 404, 'E0000007', `Not found: Resource not found: ${id} (User)`);
      return;
    }
    const { oauthTokens } = req.query as Record<string, unknown>;
    revoke(id, 'okta', typeof oauthTokens === 'string' && oauthTokens.toLowerCase() === 'true');
    res.status(204).end();
  });

  // Microsoft Graph, user: revokeSignInSessions. Graph takes an id or a userPrincipalName; it documents 204
  // but answers 200 {"value": true}, as this does.
  app.post('/v1.0/users/:id/revokeSignInSessions', (req: Request<{ id: string }>, res) => {
    const fault = injected(req, res, (status) =>
      sendGraphError(res, status, 'serviceNotAvailable', `Injected fault ${status} from SCIM peer '${name}'`),
    );
    if (fault) return;
    if (token !== undefined && !authorizationIs(req.header('authorization'), 'Bearer', token)) {
      sendGraphError(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
      return;
    }
    const { id } = req.params;
    const user = store.users.get(id) ?? store.byUserName.get(id.toLowerCase());
    if (!user) {
      sendGraphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
      return;
    }
    revoke(user.id, 'entra');
    res.status(200).json({ '@odata.context': `${origin}/v1.0/$metadata#Edm.Boolean`, value: true });
  });

  // SCIMMYRouters answers 5xx itself and then passes the error on; swallow it here (no stack traces
  // on stderr), and answer anything that slipped through as a SCIM error.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    sendScimError(res, 500, err instanceof Error ? err.message : 'Internal error');
  });
  app.use((_req: Request, res: Response) => sendScimError(res, 404, 'Endpoint Not Found'));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: origin + BASE_PATH,
    port,
    name,
    requests,
    faults,
    vendor,
    createGroup(displayName: string, memberIds: string[] = []): string {
      const now = clock();
      const id = randomUUID();
      const members = memberIds.map((value) => ({ value }));
      store.groups.set(id, {
        id,
        data: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
          displayName,
          ...(members.length ? { members } : {}),
        },
        createdAt: now,
        lastModified: now,
      });
      return id;
    },
    groupMembers(groupId: string): string[] | undefined {
      const group = store.groups.get(groupId);
      if (!group) return undefined;
      const members = Array.isArray(group.data.members) ? group.data.members : [];
      return members.flatMap((m) => (isObject(m) && typeof m.value === 'string' ? [m.value] : []));
    },
    openSession(userId: string): void {
      const user = store.users.get(userId);
      if (!user) throw new RangeError(`SCIM peer '${name}' has no user ${userId}`);
      if (user.data.active === false) throw new RangeError(`user ${userId} is inactive and cannot sign in`);
      sessionCounts.set(userId, (sessionCounts.get(userId) ?? 0) + 1);
    },
    activeSessions(userId: string): number {
      return store.users.has(userId) ? (sessionCounts.get(userId) ?? 0) : 0;
    },
    sessionRevocations(): SessionRevocationRecord[] {
      return revocations.map((r) => ({ ...r }));
    },
    users(): ScimUserRecord[] {
      return [...store.users.values()]
        .sort((a, b) => a.seq - b.seq)
        .map((u) => {
          const raw = toPlain(u.data);
          const record: ScimUserRecord = {
            id: u.id,
            userName: String(raw.userName),
            active: raw.active !== false,
            createdAt: u.createdAt,
            lastModified: u.lastModified,
            seq: u.seq,
            raw,
          };
          if (typeof raw.externalId === 'string') record.externalId = raw.externalId;
          if (isObject(raw.name)) {
            const { givenName, familyName } = raw.name;
            record.name = {
              ...(typeof givenName === 'string' ? { givenName } : {}),
              ...(typeof familyName === 'string' ? { familyName } : {}),
            };
          }
          if (Array.isArray(raw.emails)) record.emails = raw.emails;
          return record;
        });
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      name: { type: 'string', default: 'scim-peer' },
      token: { type: 'string' },
      'max-page-size': { type: 'string', default: '50' },
      vendor: { type: 'string', default: 'generic' },
    },
  });
  const peer = await startScimPeer({
    port: Number(values.port),
    host: values.host,
    name: values.name,
    token: values.token,
    maxPageSize: Number(values['max-page-size']),
    vendor: values.vendor as ScimVendor,
  });
  console.log(`SCIM peer '${peer.name}' listening at ${peer.url}`);
  const stop = (): void => {
    void peer.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
