/**
 * A local stand-in for Slack's Web API (https://api.slack.com/web), for tests and the local demo.
 * It speaks the documented wire format — HTTP 200 with `{ ok: true, … }` or `{ ok: false, error }`, 429 with
 * `Retry-After` — and rejects what Slack rejects: no or wrong token (`not_authed` / `invalid_auth`), missing
 * arguments, unknown channels and users, unknown methods.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

export interface SlackUser {
  id: string;
  email: string;
  name: string;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  /** Set on ephemeral messages: only this user sees it. */
  user?: string;
  ephemeral?: boolean;
  updates: { text?: string; blocks?: unknown[] }[];
}

export interface SlackStandIn {
  /** Base URL for `slackApiUrl`, ending in `/api/`. */
  url: string;
  token: string;
  users: SlackUser[];
  messages: SlackMessage[];
  /** Every call: method, when, the `ok`/`error` answered. */
  calls: { method: string; at: number; ok: boolean; error?: string; status: number }[];
  /** The next `n` calls (of `method`, or any) answer 429 with this Retry-After. */
  rateLimitNext(n: number, retryAfterSeconds: number, method?: string): void;
  addUser(u: SlackUser): void;
  close(): Promise<void>;
}

export interface SlackStandInOptions {
  port?: number;
  /** The bot token calls must carry. @default "xoxb-test-token" */
  token?: string;
  users?: SlackUser[];
}

type Args = Record<string, unknown>;
type Handler = (args: Args) => Record<string, unknown>;

class SlackApiError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

function parseJsonArg(v: unknown, name: string): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new SlackApiError(`invalid_${name}`);
  }
}

export async function startSlackStandIn(opts: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const token = opts.token ?? 'xoxb-test-token';
  const users: SlackUser[] = [...(opts.users ?? [])];
  const messages: SlackMessage[] = [];
  const calls: SlackStandIn['calls'] = [];
  const limits: { n: number; retryAfter: number; method?: string }[] = [];
  let tsCounter = 0;
  const nextTs = (): string => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;

  const requireArg = (args: Args, name: string): string => {
    const v = args[name];
    if (typeof v !== 'string' || v.length === 0)
      throw new SlackApiError(name === 'channel' ? 'channel_not_found' : `missing_${name}`);
    return v;
  };
  const channelExists = (c: string): boolean => users.some((u) => u.id === c) || /^C[A-Z0-9]+$/.test(c);

  const methods: Record<string, Handler> = {
    'auth.test': () => ({ user_id: 'UTENUREBOT', team_id: 'TTENURE', bot_id: 'BTENURE' }),
    'users.lookupByEmail': (a) => {
      const email = requireArg(a, 'email').toLowerCase();
      const u = users.find((x) => x.email.toLowerCase() === email);
      if (!u) throw new SlackApiError('users_not_found');
      return { user: { id: u.id, name: u.name, profile: { email: u.email } } };
    },
    'chat.postMessage': (a) => {
      const channel = requireArg(a, 'channel');
      if (!channelExists(channel)) throw new SlackApiError('channel_not_found');
      const blocks = parseJsonArg(a.blocks, 'blocks') as unknown[] | undefined;
      if (a.text === undefined && blocks === undefined) throw new SlackApiError('no_text');
      const msg: SlackMessage = { channel, ts: nextTs(), text: a.text as string | undefined, blocks, updates: [] };
      messages.push(msg);
      return { channel, ts: msg.ts, message: { text: msg.text, blocks } };
    },
    'chat.postEphemeral': (a) => {
      const channel = requireArg(a, 'channel');
      const user = requireArg(a, 'user');
      if (!users.some((u) => u.id === user)) throw new SlackApiError('user_not_in_channel');
      const blocks = parseJsonArg(a.blocks, 'blocks') as unknown[] | undefined;
      if (a.text === undefined && blocks === undefined) throw new SlackApiError('no_text');
      const msg: SlackMessage = {
        channel,
        ts: nextTs(),
        text: a.text as string,
        blocks,
        user,
        ephemeral: true,
        updates: [],
      };
      messages.push(msg);
      return { message_ts: msg.ts };
    },
    'chat.update': (a) => {
      const channel = requireArg(a, 'channel');
      const ts = requireArg(a, 'ts');
      const msg = messages.find((m) => m.channel === channel && m.ts === ts && !m.ephemeral);
      if (!msg) throw new SlackApiError('message_not_found');
      const blocks = parseJsonArg(a.blocks, 'blocks') as unknown[] | undefined;
      if (a.text === undefined && blocks === undefined) throw new SlackApiError('no_text');
      msg.updates.push({ text: a.text as string | undefined, blocks });
      if (a.text !== undefined) msg.text = a.text as string;
      if (blocks !== undefined) msg.blocks = blocks;
      return { channel, ts, text: msg.text };
    },
  };

  const app = express();
  app.disable('x-powered-by');
  app.post('/api/:method', express.urlencoded({ extended: false }), express.json(), (req, res) => {
    const method = String(req.params.method);
    const answer = (status: number, body: Record<string, unknown>): void => {
      calls.push({ method, at: Date.now(), ok: body.ok === true, error: body.error as string | undefined, status });
      res.status(status).json(body);
    };
    const limit = limits.find((l) => l.n > 0 && (!l.method || l.method === method));
    if (limit) {
      limit.n -= 1;
      res.setHeader('Retry-After', String(limit.retryAfter));
      return answer(429, { ok: false, error: 'ratelimited' });
    }
    const handler = methods[method];
    if (!handler) return answer(404, { ok: false, error: 'unknown_method' });
    const args = (req.body ?? {}) as Args;
    const auth = req.get('authorization');
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (args.token as string | undefined);
    if (!given) return answer(200, { ok: false, error: 'not_authed' });
    if (given !== token) return answer(200, { ok: false, error: 'invalid_auth' });
    try {
      return answer(200, { ok: true, ...handler(args) });
    } catch (err) {
      if (err instanceof SlackApiError) return answer(200, { ok: false, error: err.error });
      return answer(500, { ok: false, error: 'internal_error' });
    }
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    token,
    users,
    messages,
    calls,
    rateLimitNext: (n, retryAfter, method) => limits.push({ n, retryAfter, method }),
    addUser: (u) => users.push(u),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
