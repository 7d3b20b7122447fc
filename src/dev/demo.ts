/**
 * `npm run demo -- hire`: what an HR team does on a first day with Tenure, against a running `npm start`.
 * The person is added to the HR system (the local BambooHR, through its Add Employee API), then HR's signed webhook
 * reaches the intake. With the dev policy the hire needs the manager's approval for the CRM (click Approve as
 * maria in the local Slack workspace), gets a generated work email that is written back to BambooHR, and the
 * manager is sent a welcome notice.
 */
import { Command } from 'commander';
import { loadSettings } from '../app/settings';
import { TenureClient } from '../client/tenure-client';
import type { EmployeeRecord } from '../domain/employee';
import { addDays, localInstant, wallClock } from '../domain/time';
import { readDevEnv } from './dev-env';
import { DEMO_PEOPLE } from './local-peers';

async function addToBambooHr(
  baseUrl: string,
  apiKey: string,
  first: string,
  last: string,
  personal: string,
): Promise<string> {
  const res = await fetch(`${baseUrl}/employees/`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${apiKey}:x`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ firstName: first, lastName: last, homeEmail: personal }),
  });
  const location = res.headers.get('location');
  if (res.status !== 201 || !location) throw new Error(`BambooHR did not add the employee (HTTP ${res.status})`);
  return location.replace(/\/+$/, '').split('/').pop() ?? '';
}

const DEMO_ZONE = 'Europe/Lisbon';

/**
 * The latest hire date whose start instant has passed, so the demo hire starts now: today in Lisbon once the policy's
 * activation time has passed there, else yesterday (the answer then says `late`, as for any back-dated hire).
 */
function startsNow(activationTime: string, now = new Date()): string {
  const today = wallClock(now, DEMO_ZONE).date;
  return localInstant(today, activationTime, DEMO_ZONE) <= now ? today : addDays(today, -1);
}

const program = new Command('demo').description("a demo of Tenure's joiner against `npm start`");
program
  .command('hire')
  .description('add a made-up person to the local BambooHR and send their hire to the intake')
  .option(
    '--date <YYYY-MM-DD>',
    "hire date, activating at the policy's activation time in Europe/Lisbon (default: the latest date that starts now)",
  )
  .action(async (opts: { date?: string }) => {
    const vars = { ...readDevEnv(), ...process.env };
    const settings = loadSettings({ vars });
    const hireDate = opts.date ?? startsNow(settings.policy.policy.timing.activationTime);
    const hris = settings.policy.policy.hris;
    const first = 'Ana';
    const last = `Lima${Date.now().toString(36).slice(-4)}`;
    let hrId = `DEMO${Date.now().toString(36).toUpperCase()}`;
    if (hris) {
      const key = vars[hris.apiKeyEnv];
      if (!key) throw new Error(`${hris.apiKeyEnv} is not set`);
      hrId = await addToBambooHr(
        hris.baseUrl,
        key,
        first,
        last,
        `${first.toLowerCase()}.${last.toLowerCase()}@personal.example`,
      );
    }
    const record: EmployeeRecord = {
      hrId,
      legalFirstName: first,
      legalLastName: last,
      personalEmail: `${first.toLowerCase()}.${last.toLowerCase()}@personal.example`,
      department: 'Sales',
      title: 'Account Executive',
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      managerHrId: DEMO_PEOPLE.manager.hrId,
      employmentType: 'employee',
      status: 'pre_hire',
      hireDate,
      sourceUpdatedAt: new Date().toISOString(),
    };
    const secret = settings.env.TENURE_WEBHOOK_SECRET;
    if (!secret) throw new Error('TENURE_WEBHOOK_SECRET is not set (and no .data/dev.env from `npm start`)');
    const url = process.env.TENURE_INTAKE_URL ?? `http://127.0.0.1:${settings.env.TENURE_INTAKE_PORT}`;
    const answer = await new TenureClient({ url, secret }).sendEvent({ eventId: `demo-${hrId}`, kind: 'hire', record });
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    process.stdout.write(
      [
        '',
        `HR id ${hrId}. Next:`,
        `  approve the CRM as maria:  http://127.0.0.1:7311/`,
        `  watch it:                  http://localhost:8233/namespaces/default/workflows?query=${encodeURIComponent(`TenureEmployeeId="${hrId}"`)}`,
        `  its steps and evidence:    npm run tenure -- status ${hrId}   /   npm run tenure -- evidence ${hrId}`,
        '',
      ].join('\n'),
    );
    if (answer.status >= 400) process.exitCode = 1;
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
