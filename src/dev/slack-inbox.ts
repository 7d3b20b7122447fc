/**
 * `npm start`'s Slack workspace in a browser: the messages Tenure posted to the local Slack stand-in, per person,
 * with their buttons. A click is sent to the intake's interactivity endpoint exactly as Slack sends one — a
 * `block_actions` payload signed with the app's signing secret — so the demo goes through the real endpoint, its
 * signature check and its approver check.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, TASK_DONE_ACTION_ID } from '../activities/slack/blocks';
import { postToSlackEndpoint, slackClickPayload } from './slack-clicks';
import type { SlackStandIn } from './slack-standin';

export interface SlackInbox {
  url: string;
  close(): Promise<void>;
}

const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The clicks a message offers: approve and reject on a request, done on a task. */
function clicksOf(blocks: unknown[] | undefined): string[] {
  const actions = (blocks ?? []).find((b) => (b as { type?: string }).type === 'actions') as
    { elements?: { action_id?: string }[] } | undefined;
  const ids = (actions?.elements ?? []).map((e) => e.action_id ?? '');
  return [
    ...(ids.includes(APPROVE_ACTION_ID) ? ['approve'] : []),
    ...(ids.includes(REJECT_ACTION_ID) ? ['reject'] : []),
    ...(ids.includes(TASK_DONE_ACTION_ID) ? ['done'] : []),
  ];
}

export async function startSlackInbox(opts: {
  slack: SlackStandIn;
  intakeUrl: string;
  signingSecret: string;
  port?: number;
}): Promise<SlackInbox> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/', (_req, res) => {
    const rows = opts.slack.users.map((u) => {
      const mine = opts.slack.messages.filter((m) => m.channel === u.id || m.user === u.id);
      const items = mine
        .map((m) => {
          const buttons = clicksOf(m.blocks)
            .map(
              (a) =>
                `<form method="post" action="/click" style="display:inline">` +
                `<input type="hidden" name="channel" value="${esc(m.channel)}">` +
                `<input type="hidden" name="ts" value="${esc(m.ts)}">` +
                `<input type="hidden" name="user" value="${esc(u.id)}">` +
                `<button name="action" value="${a}">${a}</button></form>`,
            )
            .join(' ');
          return `<li><code>${esc(m.ts)}</code> ${esc(m.text ?? '')} ${buttons}</li>`;
        })
        .join('');
      return `<h2>${esc(u.name)} &lt;${esc(u.email)}&gt; (${esc(u.id)})</h2><ul>${items || '<li>no messages</li>'}</ul>`;
    });
    res
      .type('html')
      .send(`<!doctype html><title>Tenure dev Slack</title><h1>Local Slack workspace</h1>${rows.join('')}`);
  });
  app.post('/click', express.urlencoded({ extended: false }), async (req, res) => {
    const { channel, ts, user, action } = req.body as Record<string, string | undefined>;
    const m = opts.slack.messages.find((x) => x.channel === channel && x.ts === ts && !x.ephemeral);
    if (!m || !user || !action) {
      res.status(404).json({ error: 'not_found', message: 'no such message' });
      return;
    }
    try {
      const what = action === 'reject' ? { reject: 'not needed' } : action === 'done' ? 'done' : 'approve';
      const answer = await postToSlackEndpoint(opts.intakeUrl, opts.signingSecret, slackClickPayload(m, user, what));
      res.redirect(303, `/?clicked=${answer.status}`);
    } catch (err) {
      res.status(400).json({ error: 'click_failed', message: (err as Error).message });
    }
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
