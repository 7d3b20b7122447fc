/**
 * A Tenure deployment made of processes, as production runs it: N worker processes and one intake process, each
 * started from its real entry point and configured only by environment variables and a policy file, against a
 * Temporal cluster (the dev server or the real server) and a shared audit store. The outside systems are the same
 * local stand-ins `npm start` uses (src/dev/local-peers.ts), on free ports, in the test process: three SCIM apps
 * (the CRM needs the manager's approval), Slack and BambooHR.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { connectClient } from '../../src/app/compose';
import { temporalSettings } from '../../src/app/settings';
import { dataConverter, generateKey, loadKeyRing } from '../../src/codec';
import { TenureClient } from '../../src/client/tenure-client';
import { parsePolicy } from '../../src/config/policy-file';
import type { LocalPeers } from '../../src/dev/local-peers';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { DEMO_PEOPLE, seedDemoManager, startLocalPeers } from '../../src/dev/local-peers';
import { freePort } from '../../src/dev/ports';
import type { ClickResponse } from '../../src/dev/slack-clicks';
import { buttonsFor, postToSlackEndpoint, slackClickPayload } from '../../src/dev/slack-clicks';
import type { TenureProcess } from './processes';
import { spawnEntryPoint } from './processes';
import { uniqueTaskQueue } from './temporal';
import { waitFor } from './wait';

export interface Deployment {
  peers: LocalPeers;
  workers: TenureProcess[];
  intake: TenureProcess;
  intakeUrl: string;
  /** Tenure's `/metrics` of each process, by process name (`worker-1`, …, `intake`). */
  metricsUrls: Record<string, string>;
  /** Signs and sends HR events to the intake process. */
  tenure: TenureClient;
  /** A client of the cluster with the deployment's payload keys (to read results). */
  client: Client;
  /** The variables every process got. */
  vars: Record<string, string>;
  policyFile: string;
  /** Clicks Approve, as the demo manager in Slack, on the newest request for `systemName`; signed as Slack signs. */
  approveAsManager(systemName: string): Promise<ClickResponse>;
  /** The person's accounts in a system's stand-in (by HR key). */
  accountsOf(systemId: string, hrId: string): ReturnType<ScimPeer['users']>;
  /** Starts one more worker process (identity `worker-<n>`). */
  startWorker(): Promise<TenureProcess>;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  temporalAddress: string;
  /** The audit store every process shares (Postgres, or an embedded server's URL). */
  databaseUrl: string;
  /** @default 1 */
  workers?: number;
}

/** The deployment's policy: an identity provider, a wiki, a CRM the manager approves; Slack, BambooHR, naming. */
function policyFor(ports: Record<'idp' | 'wiki' | 'crm' | 'slack' | 'bamboo', number>): Record<string, unknown> {
  const scim = (id: string, name: string, port: number, extra: Record<string, unknown> = {}) => ({
    id,
    name,
    kind: id === 'idp' ? 'identity-provider' : 'app',
    connector: {
      type: 'scim',
      baseUrl: `http://127.0.0.1:${port}/scim/v2`,
      tokenEnv: `TENURE_E2E_${id.toUpperCase()}_TOKEN`,
    },
    ...(id === 'idp' ? {} : { dependsOn: ['idp'] }),
    ...extra,
  });
  return {
    timing: { activationTime: '09:00', exitTime: '18:00' },
    naming: { workEmailDomain: 'acme.example' },
    slack: { apiUrl: `http://127.0.0.1:${ports.slack}/api/`, tokenEnv: 'TENURE_E2E_SLACK_TOKEN' },
    hris: {
      type: 'bamboohr',
      baseUrl: `http://127.0.0.1:${ports.bamboo}/api/gateway.php/acme/v1`,
      apiKeyEnv: 'TENURE_E2E_BAMBOOHR_KEY',
    },
    people: { teams: { 'sales-ops': [DEMO_PEOPLE.owner.email] }, fallbackApprovers: [DEMO_PEOPLE.oncall.email] },
    systems: [
      scim('idp', 'Identity provider', ports.idp),
      scim('wiki', 'Wiki', ports.wiki),
      scim('crm', 'CRM', ports.crm, { owner: 'sales-ops', approval: { approvers: ['manager'] } }),
    ],
    birthright: [{ name: 'everyone', systems: ['idp', 'wiki', 'crm'] }],
  };
}

export async function startDeployment(o: DeploymentOptions): Promise<Deployment> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-deploy-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const ports = {
      idp: await freePort(),
      wiki: await freePort(),
      crm: await freePort(),
      slack: await freePort(),
      bamboo: await freePort(),
    };
    const policyData = policyFor(ports);
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, stringify(policyData));
    const intakePort = await freePort();
    const vars: Record<string, string> = {
      TEMPORAL_ADDRESS: o.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TENURE_TASK_QUEUE: uniqueTaskQueue('deploy'),
      TENURE_POLICY: policyFile,
      TENURE_CODEC_KEYS: `k1:${generateKey()}`,
      TENURE_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
      TENURE_SLACK_SIGNING_SECRET: randomBytes(24).toString('hex'),
      TENURE_CODEC_TOKEN: randomBytes(32).toString('base64url'),
      TENURE_INTAKE_PORT: String(intakePort),
      DATABASE_URL: o.databaseUrl,
      TENURE_E2E_IDP_TOKEN: randomBytes(16).toString('hex'),
      TENURE_E2E_WIKI_TOKEN: randomBytes(16).toString('hex'),
      TENURE_E2E_CRM_TOKEN: randomBytes(16).toString('hex'),
      TENURE_E2E_SLACK_TOKEN: `xoxb-${randomBytes(12).toString('hex')}`,
      TENURE_E2E_BAMBOOHR_KEY: randomBytes(20).toString('hex'),
    };
    const policy = parsePolicy(policyData);
    const peers = await startLocalPeers(policy.policy, vars);
    stops.push(() => peers.close());

    // The manager exists in the identity provider (approvals find managers there) and in Slack.
    const m = DEMO_PEOPLE.manager;
    await seedDemoManager(`http://127.0.0.1:${ports.idp}/scim/v2`, vars.TENURE_E2E_IDP_TOKEN);

    const metricsUrls: Record<string, string> = {};
    const workers: TenureProcess[] = [];
    const startWorker = async (): Promise<TenureProcess> => {
      const identity = `worker-${workers.length + 1}`;
      const metricsPort = await freePort();
      metricsUrls[identity] = `http://127.0.0.1:${metricsPort}`;
      const w = spawnEntryPoint(
        'worker',
        {
          ...vars,
          TENURE_WORKER_IDENTITY: identity,
          TENURE_METRICS_PORT: String(metricsPort),
          TENURE_SDK_METRICS_PORT: String(await freePort()),
        },
        identity,
      );
      workers.push(w);
      stops.push(() => w.kill('SIGKILL'));
      await w.waitForLine(/worker started/, 180_000);
      return w;
    };
    for (let i = 0; i < (o.workers ?? 1); i += 1) await startWorker();

    const intakeMetricsPort = await freePort();
    metricsUrls.intake = `http://127.0.0.1:${intakeMetricsPort}`;
    const intake = spawnEntryPoint('intake', { ...vars, TENURE_METRICS_PORT: String(intakeMetricsPort) }, 'intake');
    stops.push(() => intake.kill('SIGTERM'));
    await intake.waitForLine(/intake server listening/, 60_000);
    const intakeUrl = `http://127.0.0.1:${intakePort}`;

    const { client, close } = await connectClient({
      temporal: temporalSettings({ TEMPORAL_ADDRESS: o.temporalAddress }),
      converter: dataConverter(loadKeyRing(vars)),
    });
    stops.push(close);

    return {
      peers,
      workers,
      intake,
      intakeUrl,
      metricsUrls,
      tenure: new TenureClient({ url: intakeUrl, secret: vars.TENURE_WEBHOOK_SECRET ?? '' }),
      client,
      vars,
      policyFile,
      startWorker,
      accountsOf: (systemId, hrId) =>
        peers.scim
          .get(systemId)
          ?.users()
          .filter((u) => u.externalId === hrId) ?? [],
      async approveAsManager(systemName) {
        const slack = peers.slack;
        if (!slack) throw new Error('no Slack stand-in');
        let request: ReturnType<typeof buttonsFor>[number] | undefined;
        await waitFor(
          () => {
            request = buttonsFor(slack, m.slackId)
              .reverse()
              .find((msg) => (msg.text ?? '').includes(systemName));
            return request !== undefined;
          },
          60_000,
          `an approval request for ${systemName} in Slack`,
        );
        if (!request) throw new Error('no request');
        return postToSlackEndpoint(
          intakeUrl,
          vars.TENURE_SLACK_SIGNING_SECRET ?? '',
          slackClickPayload(request, m.slackId, 'approve'),
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
