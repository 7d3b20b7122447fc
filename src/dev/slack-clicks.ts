import { randomUUID } from 'node:crypto';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, TASK_DONE_ACTION_ID } from '../activities/slack/blocks';
import { signSlackRequest } from '../client/signature';
import { SLACK_INTERACTIVITY_PATH } from '../client/slack-interactivity';
import type { SlackMessage } from './slack-standin';

export interface ClickResponse {
  status: number;
  body: string;
}

/** Signs (with `secret`, or a given signature) and POSTs an interactivity payload as Slack does. */
export async function postToSlackEndpoint(
  baseUrl: string,
  secret: string,
  payload: unknown,
  opts: { timestamp?: number; secret?: string; signature?: string } = {},
): Promise<ClickResponse> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = opts.signature ?? signSlackRequest(opts.secret ?? secret, timestamp, body);
  const res = await fetch(`${baseUrl}${SLACK_INTERACTIVITY_PATH}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
    body,
  });
  return { status: res.status, body: await res.text() };
}

/** A `block_actions` payload, as Slack sends it, for a click by `userId` on a message Tenure posted. */
export function slackClickPayload(
  m: SlackMessage,
  userId: string,
  what: 'approve' | { reject: string } | 'done',
): Record<string, unknown> {
  const actions = (m.blocks ?? []).find((b) => (b as { type?: string }).type === 'actions') as
    { block_id: string; elements: { action_id: string; value?: string; type: string }[] } | undefined;
  if (!actions) throw new Error('the message has no buttons (any more)');
  const wanted = what === 'approve' ? APPROVE_ACTION_ID : what === 'done' ? TASK_DONE_ACTION_ID : REJECT_ACTION_ID;
  const el = actions.elements.find((e) => e.action_id === wanted);
  if (!el) throw new Error(`the message has no ${wanted}`);
  const actionTs = `${(Date.now() / 1000).toFixed(6)}`;
  return {
    type: 'block_actions',
    user: { id: userId, username: userId.toLowerCase(), team_id: 'TTENURE' },
    api_app_id: 'ATENURE',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomUUID()}`,
    team: { id: 'TTENURE', domain: 'acme' },
    channel: { id: m.channel, name: 'directmessage' },
    message: { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks },
    response_url: 'https://hooks.slack.example/actions/TTENURE/1/x',
    actions: [
      typeof what === 'object'
        ? {
            type: 'static_select',
            action_id: el.action_id,
            block_id: actions.block_id,
            selected_option: { text: { type: 'plain_text', text: what.reject }, value: what.reject },
            action_ts: actionTs,
          }
        : {
            type: 'button',
            action_id: el.action_id,
            block_id: actions.block_id,
            value: el.value,
            text: { type: 'plain_text', text: what === 'approve' ? 'Approve' : 'Done' },
            action_ts: actionTs,
          },
    ],
  };
}

/** The messages with buttons (not ephemeral) Tenure posted to one Slack user, oldest first. */
export function buttonsFor(slack: { messages: SlackMessage[] } | undefined, user: string): SlackMessage[] {
  return (slack?.messages ?? []).filter(
    (m) =>
      m.channel === user && !m.ephemeral && (m.blocks ?? []).some((b) => (b as { type?: string }).type === 'actions'),
  );
}

/** A click by `userId` on a message, signed as Slack signs it and posted to the harness's intake. */
export function clickAs(
  t: { intake: { url: string }; slackSigningSecret: string },
  m: SlackMessage,
  userId: string,
  what: 'approve' | { reject: string } | 'done',
): Promise<ClickResponse> {
  return postToSlackEndpoint(t.intake.url, t.slackSigningSecret, slackClickPayload(m, userId, what));
}
