import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { AuditStore } from '../../src/activities/audit';
import { openAuditStore } from '../../src/activities/audit';
import type { RunningWorker } from '../../src/app/compose';
import { connectClient, startIntake, startWorker } from '../../src/app/compose';
import type { TenureSettings } from '../../src/app/settings';
import { loadSettings } from '../../src/app/settings';
import { REDACT_PATHS } from '../../src/logger';
import type { BambooStandin } from '../../src/dev/bamboohr-standin';
import { startBambooStandin } from '../../src/dev/bamboohr-standin';
import type { SlackStandIn } from '../../src/dev/slack-standin';
import { startSlackStandIn } from '../../src/dev/slack-standin';
import type { LoadedPolicy } from '../../src/config/policy-file';
import { parsePolicy } from '../../src/config/policy-file';
import type { RunningIntake } from '../../src/client/intake';
import { TenureClient } from '../../src/client/tenure-client';
import type { PolicyInput } from '../../src/domain/policy';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import { generateKey } from '../../src/codec';
import { devServer, uniqueTaskQueue, workflowBundle } from './temporal';

export interface TenureHarness {
  idp: ScimPeer;
  app: ScimPeer;
  /** Extra app peers by system id (`extraApps`); their systems are in the catalog, granted by no rule. */
  apps: Record<string, ScimPeer>;
  slack?: SlackStandIn;
  bamboo?: BambooStandin;
  /** An in-memory embedded audit store, fresh for this harness. */
  audit: AuditStore;
  policy: LoadedPolicy;
  client: Client;
  taskQueue: string;
  intake: RunningIntake;
  webhookSecret: string;
  /** Signing secret of the Slack interactivity endpoint (mounted when `slack` is on). */
  slackSigningSecret: string;
  tenure: TenureClient;
  /** Every log line the intake server wrote, parsed. */
  logLines: Record<string, unknown>[];
  /** The settings the worker and intake were composed from (src/app/settings.ts). */
  settings: TenureSettings;
  /** The harness's worker: a test may stop it and start another (e.g. on a changed policy). */
  worker: RunningWorker;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Local wall-clock time at which hires activate. @default "09:00" */
  activationTime?: string;
  /** Change the default policy (an identity provider and one app, everyone gets both). */
  policy?: (p: PolicyInput) => PolicyInput;
  /** Start a Slack stand-in and configure the policy's `slack` with it. @default false */
  slack?: boolean;
  /** Start a BambooHR stand-in and configure the policy's `hris` with it. @default false */
  bamboo?: boolean;
  /** More SCIM apps, one peer each, added to the catalog (after `wiki`, depending on `idp`) under these ids. */
  extraApps?: string[];
  /** Configure the identity provider's Okta sessions API (the peer's stand-in). @default false */
  idpSessions?: boolean;
  /** The payload key ring (`TENURE_CODEC_KEYS` form). @default a fresh random key */
  codecKeys?: string;
  /** More environment variables for the worker and intake (e.g. the secrets a native connector's policy names). */
  vars?: Record<string, string>;
}

/** A whole Tenure on the shared dev server: two SCIM peers, a worker, the intake server and a client. */
export async function startTenure(opts: HarnessOptions = {}): Promise<TenureHarness> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const idp = await startScimPeer({ name: 'idp' });
    stops.push(() => idp.close());
    const app = await startScimPeer({ name: 'app' });
    stops.push(() => app.close());

    const base: PolicyInput = {
      timing: { activationTime: opts.activationTime ?? '09:00', defaultTimeZone: 'UTC' },
      systems: [
        {
          id: 'idp',
          name: 'Identity provider',
          kind: 'identity-provider',
          connector: { type: 'scim', baseUrl: idp.url },
        },
        { id: 'wiki', name: 'Wiki', kind: 'app', connector: { type: 'scim', baseUrl: app.url }, dependsOn: ['idp'] },
      ],
      birthright: [{ name: 'everyone', systems: ['idp', 'wiki'] }],
      // A test company has a handful of people, where every exit is a large percentage of the population: the
      // mass-change guard's percentages start counting only past 100 people here (its counts apply as shipped).
      // test/integration/guard.test.ts runs the shipped defaults.
      guard: { percentFloor: 100 },
    };
    if (opts.idpSessions) {
      const c = base.systems[0]?.connector;
      if (c?.type === 'scim') c.sessions = { api: 'okta', baseUrl: idp.url.replace(/\/scim\/v2$/, '') };
    }
    const apps: Record<string, ScimPeer> = {};
    for (const id of opts.extraApps ?? []) {
      const peer = await startScimPeer({ name: id });
      stops.push(() => peer.close());
      apps[id] = peer;
      base.systems.push({
        id,
        name: id,
        kind: 'app',
        connector: { type: 'scim', baseUrl: peer.url },
        dependsOn: ['idp'],
      });
    }
    let slack: SlackStandIn | undefined;
    if (opts.slack) {
      const standIn = await startSlackStandIn();
      stops.push(() => standIn.close());
      slack = standIn;
      base.slack = { apiUrl: standIn.url, tokenEnv: 'TENURE_TEST_SLACK_TOKEN' };
    }
    let bamboo: BambooStandin | undefined;
    if (opts.bamboo) {
      const standIn = await startBambooStandin({ apiKeys: ['test-hris-key'] });
      stops.push(() => standIn.close());
      bamboo = standIn;
      base.hris = { type: 'bamboohr', baseUrl: standIn.url, apiKeyEnv: 'TENURE_TEST_HRIS_KEY' };
    }
    const policy = parsePolicy(opts.policy ? opts.policy(base) : base);
    const audit = await openAuditStore();
    stops.push(() => audit.close());

    // The same composition as the entry points (src/app/compose.ts), from an environment of the test's own:
    // payloads encrypted as in production (a fresh key per harness), a task queue and secrets of its own.
    const taskQueue = uniqueTaskQueue();
    const webhookSecret = randomBytes(24).toString('hex');
    const slackSigningSecret = randomBytes(16).toString('hex');
    const settings = loadSettings({
      policy,
      vars: {
        TEMPORAL_ADDRESS: devServer().address,
        TEMPORAL_NAMESPACE: 'default',
        TENURE_TASK_QUEUE: taskQueue,
        TENURE_INTAKE_PORT: '0',
        TENURE_CODEC_KEYS: opts.codecKeys ?? `test:${generateKey()}`,
        TENURE_WEBHOOK_SECRET: webhookSecret,
        ...(slack ? { TENURE_SLACK_SIGNING_SECRET: slackSigningSecret, TENURE_TEST_SLACK_TOKEN: slack.token } : {}),
        TENURE_TEST_HRIS_KEY: 'test-hris-key',
        ...opts.vars,
      },
    });
    const worker = await startWorker(settings, audit, { workflowBundle: await workflowBundle() });
    stops.push(() => worker.shutdown());

    const { client, close } = await connectClient(settings);
    stops.push(close);

    const logLines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const intake = await startIntake(settings, { client, audit, logger });
    stops.push(() => intake.close());

    return {
      idp,
      app,
      apps,
      slack,
      bamboo,
      audit,
      policy,
      client,
      taskQueue,
      intake,
      webhookSecret,
      slackSigningSecret,
      tenure: new TenureClient({ url: intake.url, secret: webhookSecret }),
      logLines,
      settings,
      worker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
