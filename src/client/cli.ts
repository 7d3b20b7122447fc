/** `tenure` — the operator and integrator command line. */
import { readFileSync } from 'node:fs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import type { EmployeeRecord, HrEventKind } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import { readDevEnv } from '../dev/dev-env';
import { employeeStatusQuery } from '../workflows/employee/messages';
import { onboardingStatusQuery } from '../workflows/onboarding/messages';
import { registerAuditCommands } from './cli-audit';
import { registerImportCommands } from './cli-import';
import { registerPeopleCommands } from './cli-people';
import { registerPlanCommands } from './cli-plan';
import { adoptCurrentPolicy, retryStep } from './operations';
import { TenureClient } from './tenure-client';
import { dataConverter, loadKeyRing } from '../codec';

function intakeClient(): TenureClient {
  const secret = process.env.TENURE_WEBHOOK_SECRET ?? readDevEnv().TENURE_WEBHOOK_SECRET;
  if (!secret) throw new Error('TENURE_WEBHOOK_SECRET is not set (and no .data/dev.env from `npm start`)');
  return new TenureClient({ url: process.env.TENURE_INTAKE_URL ?? 'http://127.0.0.1:8080', secret });
}

async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  try {
    const env = { ...readDevEnv(), ...process.env };
    return await fn(
      new Client({
        connection,
        namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
        dataConverter: dataConverter(loadKeyRing(env)),
      }),
    );
  } finally {
    await connection.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const program = new Command('tenure').description('HR-driven access lifecycle on Temporal');
registerPlanCommands(program);
registerAuditCommands(program);
registerImportCommands(program);
registerPeopleCommands(program);

program
  .command('send')
  .description('sign and send an HR event file ({ eventId, kind, record }) to the intake server')
  .argument('<file>', 'JSON file')
  .action(async (file: string) => {
    const event = JSON.parse(readFileSync(file, 'utf8')) as {
      eventId: string;
      kind: HrEventKind;
      record: EmployeeRecord;
    };
    const answer = await intakeClient().sendEvent(event);
    print(answer);
    if (answer.status >= 400) process.exitCode = 1;
  });

program
  .command('demo-hire')
  .description('send a signed sample hire for a made-up person to a running `npm start`')
  .option(
    '--date <YYYY-MM-DD>',
    'hire date (activation at the policy hour in Europe/Lisbon)',
    new Date().toISOString().slice(0, 10),
  )
  .action(async (opts: { date: string }) => {
    const hrId = `DEMO${Date.now().toString(36).toUpperCase()}`;
    const record: EmployeeRecord = {
      hrId,
      legalFirstName: 'Ana',
      legalLastName: 'Lima',
      workEmail: `ana.lima+${hrId.toLowerCase()}@example.com`,
      department: 'Engineering',
      title: 'Software Engineer',
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      employmentType: 'employee',
      status: 'pre_hire',
      hireDate: opts.date,
      sourceUpdatedAt: new Date().toISOString(),
    };
    const answer = await intakeClient().sendEvent({ eventId: `demo-${hrId}`, kind: 'hire', record });
    print(answer);
    process.stdout.write(
      `\nSee it in the Web UI: http://localhost:8233/namespaces/default/workflows?query=${encodeURIComponent(`TenureEmployeeId="${hrId}"`)}\n`,
    );
    if (answer.status >= 400) process.exitCode = 1;
  });

program
  .command('status')
  .description("a person's events and the status of their current or last run")
  .argument('<hrId>')
  .action(async (hrId: string) =>
    withTemporal(async (client) => {
      try {
        const entity = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
        const last = [...entity.events].reverse().find((e) => e.workflowId);
        const run = last?.workflowId
          ? await client.workflow.getHandle(last.workflowId).query(onboardingStatusQuery)
          : undefined;
        print({ entity, run });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          process.stderr.write(`no Tenure workflow for ${hrId}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    }),
  );

program
  .command('retry')
  .description('run a step that is in exception again, after fixing its cause')
  .argument('<hrId>')
  .argument('<stepId>', 'e.g. create_account:github')
  .action(async (hrId: string, stepId: string) =>
    withTemporal(async (client) => {
      const status = await retryStep(client, hrId, stepId);
      print({ retried: stepId, exceptions: status.exceptions });
    }),
  );

program
  .command('adopt-policy')
  .description("move a person's waiting run (no step started) to the policy the workers run now")
  .argument('<hrId>')
  .action(async (hrId: string) =>
    withTemporal(async (client) => {
      const status = await adoptCurrentPolicy(client, hrId);
      print({ policyVersion: status.policyVersion, steps: status.steps.map((s) => s.id) });
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`tenure: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
