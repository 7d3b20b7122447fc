import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import express from 'express';
import pino from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { createActivities } from '../../src/activities';
import type { AuditStore } from '../../src/activities/audit/types';
import { buildConnectors } from '../../src/activities/connectors';
import type { UiCodecSettings } from '../../src/client/codec-server';
import { createCodecRouter, generateCodecToken, uiCodecSettings } from '../../src/client/codec-server';
import { deliverHrEvent } from '../../src/client/deliver';
import { dataConverter, generateKey, loadKeyRing } from '../../src/codec';
import { parsePolicy } from '../../src/config/policy-file';
import { freePort } from '../../src/dev/ports';
import type { DevServer } from '../../src/dev/temporal-server';
import { startDevServer } from '../../src/dev/temporal-server';
import type { EmployeeRecord } from '../../src/domain/employee';
import { eventWorkflowId } from '../../src/domain/ids';
import { makeRecord } from '../helpers/records';
import { uniqueTaskQueue, workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = join(__dirname, '..', '..', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'ui-onboarding.png');

type Stop = () => Promise<unknown>;

/** The audit store is not what this test is about: a no-op that satisfies the contract. */
const noAudit: AuditStore = {
  append: (input) =>
    Promise.resolve({ ...input, seq: 1, prevHash: '0'.repeat(64), hash: '', recordedAt: new Date().toISOString() }),
  stream: async function* () {},
  count: () => Promise.resolve(0),
  verify: () => Promise.resolve({ ok: true, checked: 0 }),
  close: () => Promise.resolve(),
};

/** YYYY-MM-DD `days` from today (UTC). */
function dateFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The operator's view, all real: Temporal's own Web UI (started with `--ui-codec-endpoint` pointing at Tenure's codec
 * router through the capability path) in headless Debian Chromium shows a waiting onboarding run, found by Tenure's
 * search attributes, with its encrypted input decoded.
 */
describe('Temporal Web UI: a waiting onboarding run, found by search attributes, input decoded', function () {
  this.timeout(180_000);
  const stops: Stop[] = [];
  const logLines: Record<string, unknown>[] = [];
  const nonce = Date.now().toString(36);
  let server: DevServer;
  let uiOrigin: string;
  let record: EmployeeRecord;
  let childId: string;
  let context: BrowserContext;
  let page: Page;
  let client: Client;
  let codecToken: string;
  let codecSettings: UiCodecSettings;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      assert.fail(`${CHROMIUM} is missing: this test drives Debian's Chromium; run \`apt-get install -y chromium\``);
    }
    const converter = dataConverter(loadKeyRing({ TENURE_CODEC_KEYS: `k1:${generateKey()}` }));
    const token = generateCodecToken();

    // The codec endpoint, mounted the way the intake server mounts it. Its port is bound before the UI port is
    // picked, so the two can never collide; the router goes on once the UI origin is known.
    const web = express();
    const codecServer = await new Promise<Server>((resolve) => {
      const s = web.listen(0, '127.0.0.1', () => resolve(s));
    });
    stops.push(
      () =>
        new Promise((resolve) => {
          codecServer.closeAllConnections();
          codecServer.close(resolve);
        }),
    );
    const codecPort = (codecServer.address() as AddressInfo).port;
    const uiPort = await freePort();
    uiOrigin = `http://127.0.0.1:${uiPort}`;
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    web.use(
      '/codec',
      createCodecRouter({ codec: converter.payloadCodecs[0], token, allowedOrigins: [uiOrigin], logger }),
    );

    // The UI is told the endpoint only: no secret in its (unauthenticated) settings. The browser signs in at the
    // codec's /login, and the UI's codec settings include credentials (what `temporal server start-dev` cannot set).
    codecToken = token;
    codecSettings = uiCodecSettings(`http://127.0.0.1:${codecPort}/codec`);
    server = await startDevServer({
      uiPort,
      uiCodecEndpoint: codecSettings.endpoint,
      startTimeoutMs: 120_000,
    });
    stops.push(() => server.stop());

    // The hire waits months for its instant, so the SCIM system is never called.
    const policy = parsePolicy({
      timing: { activationTime: '09:00', defaultTimeZone: 'UTC' },
      systems: [
        {
          id: 'idp',
          name: 'Identity provider',
          kind: 'identity-provider',
          connector: { type: 'scim', baseUrl: 'http://127.0.0.1:9/scim/v2' },
        },
      ],
      birthright: [{ name: 'everyone', systems: ['idp'] }],
    });
    const taskQueue = uniqueTaskQueue('ui');
    const native = await NativeConnection.connect({ address: server.address });
    stops.push(() => native.close());
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      activities: createActivities({ policy, connectors: buildConnectors(policy.policy), audit: noAudit }),
      workflowBundle: await workflowBundle(),
      dataConverter: converter,
    });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    client = new Client({ connection, dataConverter: converter });

    record = makeRecord({
      department: 'Cartography',
      title: `Staff Cartographer ${nonce}`,
      location: { name: 'Reykjavik', countryCode: 'IS', timeZone: 'Atlantic/Reykjavik' },
      hireDate: dateFromToday(60),
    });
    const eventId = `evt-${record.hrId}`;
    const answer = await deliverHrEvent(client, taskQueue, {
      eventId,
      kind: 'hire',
      source: 'e2e',
      record,
      receivedAt: new Date().toISOString(),
    });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    childId = eventWorkflowId(record.hrId, 'hire', eventId);

    const profile = mkdtempSync(join(tmpdir(), 'tenure-chromium-'));
    stops.push(() => Promise.resolve(rmSync(profile, { recursive: true, force: true })));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
    });
    stops.push(() => context.close());
    await context.addInitScript((settings: Record<string, unknown>) => {
      // Runs in the page: the UI's per-browser codec settings, as its "Codec Server" panel stores them.
      const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage;
      for (const [k, v] of Object.entries(settings)) storage.setItem(k, JSON.stringify(v));
    }, codecSettings.browserSettings);
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('lists the run for a TenureEmployeeId query and shows its decoded input', async () => {
    // The UI's public settings name the codec endpoint, and nothing secret.
    const settings = await (await fetch(`${server.uiUrl}/api/v1/settings`)).text();
    assert.ok(settings.includes(codecSettings.endpoint), settings);
    assert.ok(!settings.includes(codecToken), 'the codec token is not in the UI settings');

    // The operator signs this browser in to the codec once.
    await page.goto(codecSettings.loginUrl);
    await page.locator('input[name="token"]').fill(codecToken);
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.getByText('Signed in').waitFor();

    const codecCalls: number[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${codecSettings.endpoint}/decode`) && r.request().method() === 'POST') {
        codecCalls.push(r.status());
      }
    });

    // The workflows list, filtered by Tenure's search attributes. Visibility lags a moment behind the start:
    // wait until the server lists the run, so a failure below is the UI's and not the server's.
    const query = `TenureEmployeeId="${record.hrId}" AND TenureEventKind="hire"`;
    await waitFor(
      async () => {
        for await (const wf of client.workflow.list({ query })) if (wf.workflowId === childId) return true;
        return false;
      },
      60_000,
      `visibility listing ${childId}`,
    );
    const listUrl = `${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    const rows = page.locator('[data-testid="workflows-summary-configurable-table-row"]');
    const runLink = rows.getByRole('link', { name: childId, exact: true });
    await page.goto(listUrl);
    try {
      await runLink.waitFor({ timeout: 30_000 });
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'ui-onboarding-failure.png') });
      const text = (await page.locator('body').innerText()).slice(0, 2000);
      throw new Error(`the UI did not list ${childId} at ${page.url()}: ${(err as Error).message}\n${text}`);
    }
    assert.equal(await rows.count(), 1, 'one hire run for this person (the entity has no TenureEventKind)');

    await runLink.click();
    await page.locator('[data-testid="workflow-id-heading"]').filter({ hasText: childId }).waitFor();
    const input = page.locator('[data-testid="input-and-result"]');
    // Title and location are in no search attribute and in no id: only a decoded payload can show them.
    await input.getByText(record.title).waitFor({ timeout: 30_000 });
    const shown = await input.innerText();
    assert.ok(shown.includes(`"title": "${record.title}"`), shown);
    assert.ok(shown.includes(`"name": "Reykjavik"`), shown);
    assert.ok(shown.includes(`"hrId": "${record.hrId}"`), shown);
    assert.ok(!shown.includes('binary/encrypted'), 'the input is decoded, not the stored ciphertext');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // It went through the codec endpoint: a CORS preflight from the UI's origin, then decodes with the session cookie.
    assert.ok(codecCalls.length > 0 && codecCalls.every((s) => s === 200), `codec calls: ${codecCalls.join(',')}`);
    assert.ok(
      logLines.some((l) => l.codec === 'preflight' && l.origin === uiOrigin && l.status === 204),
      'the browser sent a CORS preflight that was answered',
    );
    assert.ok(logLines.some((l) => l.codec === 'decode' && l.via === 'session' && l.status === 200));
  });
});
