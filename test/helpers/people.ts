import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Worker, WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflowCode, Worker as TemporalWorker } from '@temporalio/worker';
import express from 'express';
import pino from 'pino';
import type { AuditStore, EvidenceRecord } from '../../src/activities/audit';
import { openAuditStore } from '../../src/activities/audit';
import type { IdentityConnector } from '../../src/activities/identity';
import { ScimConnector } from '../../src/activities/scim/client';
import type { PeopleActivities } from '../../src/activities/slack/activities';
import { createPeopleActivities } from '../../src/activities/slack/activities';
import { createSlackClient } from '../../src/activities/slack/notifier';
import { createSlackInteractivityRouter } from '../../src/client/slack-interactivity';
import type { PeoplePolicy, PeopleSystem } from '../../src/domain/approval';
import { approvalRuleSchema, peopleSettingsSchema } from '../../src/domain/approval';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import type { SlackMessage, SlackStandIn } from '../../src/dev/slack-standin';
import { startSlackStandIn } from '../../src/dev/slack-standin';
import { postToSlackEndpoint, slackClickPayload } from './slack-clicks';
import type { ClickResponse } from './slack-clicks';
import { connectClient, connectNative, uniqueTaskQueue } from './temporal';

/** The people of the test workspace: Slack id → work email. */
export const PEOPLE = {
  manager: { id: 'UMANAGER', email: 'maria.manager@acme.example', name: 'maria', hrId: 'MGR-1' },
  boss: { id: 'UBOSS', email: 'bruno.boss@acme.example', name: 'bruno', hrId: 'BOSS-1' },
  owner: { id: 'UOWNER', email: 'olga.owner@acme.example', name: 'olga' },
  fallback: { id: 'UFALLBACK', email: 'it-oncall@acme.example', name: 'oncall' },
  intruder: { id: 'UEVE', email: 'eve@acme.example', name: 'eve' },
} as const;

let bundle: Promise<WorkflowBundle> | undefined;
const noop = (): void => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

/** The people-in-the-loop workflows, bundled once per run. */
export function peopleBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('./people-workflows'), logger: quiet });
  return bundle;
}

export type { ClickResponse };

export interface PeopleHarness {
  idp: ScimPeer;
  /** A manual app that can be read (through SCIM) to verify tasks. */
  app: ScimPeer;
  slack: SlackStandIn;
  audit: AuditStore;
  client: Client;
  taskQueue: string;
  activities: PeopleActivities;
  policy: PeoplePolicy;
  /** Base URL of the HTTP server with the interactivity router. */
  url: string;
  signingSecret: string;
  logLines: Record<string, unknown>[];
  /** Signs (with the signing secret, or `secret`) and POSTs a payload as Slack does. */
  post(payload: unknown, opts?: { timestamp?: number; secret?: string; signature?: string }): Promise<ClickResponse>;
  /** The stand-in's copy of a message. */
  message(ref: { channel: string; ts: string }): SlackMessage;
  /** A `block_actions` payload for a click by `userId` on a message Tenure posted (from its current blocks). */
  clickPayload(
    ref: { channel: string; ts: string },
    userId: string,
    what: 'approve' | { reject: string } | 'done',
  ): Record<string, unknown>;
  evidence(hrId: string): Promise<EvidenceRecord[]>;
  stop(): Promise<void>;
}

/**
 * Everything the people-in-the-loop tests need on the shared dev server: SCIM peers (identity provider and a
 * readable manual app), the Slack stand-in with a workspace of people, an in-memory audit store, a worker running
 * the approval and task workflows with `createPeopleActivities`, and an HTTP server with the interactivity router.
 */
export async function startPeople(): Promise<PeopleHarness> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const idp = await startScimPeer({ name: 'idp' });
    stops.push(() => idp.close());
    const app = await startScimPeer({ name: 'legacy' });
    stops.push(() => app.close());
    const slack = await startSlackStandIn({
      users: Object.values(PEOPLE).map((p) => ({ id: p.id, email: p.email, name: p.name })),
    });
    stops.push(() => slack.close());
    const audit = await openAuditStore();
    stops.push(() => audit.close());

    const idpConnector = new ScimConnector({ systemId: 'idp', baseUrl: idp.url });
    for (const p of [PEOPLE.manager, PEOPLE.boss]) {
      await idpConnector.ensureAccount({
        hrId: p.hrId,
        userName: p.email,
        givenName: p.name,
        familyName: 'Example',
        active: true,
      });
    }
    const systems: PeopleSystem[] = [
      { id: 'idp', name: 'Identity provider', kind: 'identity-provider', connector: { type: 'scim' } },
      {
        id: 'wiki',
        name: 'Wiki',
        kind: 'app',
        owner: 'it-collab',
        connector: { type: 'scim' },
        approval: approvalRuleSchema.parse({ approvers: ['manager', 'owner'], sla: '1m', remindEvery: '1m' }),
      },
      {
        id: 'legacy',
        name: 'Legacy CRM',
        kind: 'app',
        owner: 'it-collab',
        connector: { type: 'manual', instructions: 'Create the user in Legacy CRM → Admin → Users.' },
      },
    ];
    const policy: PeoplePolicy = {
      systems,
      people: peopleSettingsSchema.parse({
        teams: { 'it-collab': [PEOPLE.owner.email] },
        fallbackApprovers: [PEOPLE.fallback.email],
        tasks: { sla: '1m', remindEvery: '1m' },
      }),
    };
    const connectors = new Map<string, IdentityConnector>([
      ['idp', idpConnector],
      ['legacy', new ScimConnector({ systemId: 'legacy', baseUrl: app.url })],
    ]);
    const managers = new Map<string, string>([[PEOPLE.manager.hrId, PEOPLE.boss.hrId]]);
    const activities = createPeopleActivities({
      slack: createSlackClient({ token: slack.token, apiUrl: slack.url }),
      audit,
      connectors,
      policy,
      directory: { managerOf: (hrId) => Promise.resolve(managers.get(hrId)) },
    });

    const taskQueue = uniqueTaskQueue('people');
    const native = await connectNative();
    stops.push(() => native.close());
    const worker: Worker = await TemporalWorker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      activities,
      workflowBundle: await peopleBundle(),
    });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    const { client, close } = await connectClient();
    stops.push(close);

    const logLines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const signingSecret = randomBytes(16).toString('hex');
    const http = express();
    http.use(
      createSlackInteractivityRouter({
        client,
        signingSecret,
        slack: createSlackClient({ token: slack.token, apiUrl: slack.url }),
        audit,
        logger,
      }),
    );
    const server: Server = await new Promise((resolve, reject) => {
      const s = http.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const message = (ref: { channel: string; ts: string }): SlackMessage => {
      const m = slack.messages.find((x) => x.channel === ref.channel && x.ts === ref.ts && !x.ephemeral);
      if (!m) throw new Error(`no Slack message ${ref.channel}/${ref.ts}`);
      return m;
    };

    return {
      idp,
      app,
      slack,
      audit,
      client,
      taskQueue,
      activities,
      policy,
      url,
      signingSecret,
      logLines,
      post: (payload, opts = {}) => postToSlackEndpoint(url, signingSecret, payload, opts),
      message,
      clickPayload: (ref, userId, what) => slackClickPayload(message(ref), userId, what),
      async evidence(hrId) {
        const out: EvidenceRecord[] = [];
        for await (const e of audit.stream({ hrId })) out.push(e);
        return out;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Ephemeral replies a user got. */
export function ephemerals(slack: SlackStandIn, userId: string): SlackMessage[] {
  return slack.messages.filter((m) => m.ephemeral && m.user === userId);
}
