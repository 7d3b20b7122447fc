import { userInfo } from 'node:os';
/** `tenure` — the operator and integrator command line. */
import { readFileSync } from 'node:fs';
import type { Connection } from '@temporalio/client';
import { Command } from 'commander';
import type { EmployeeRecord, HrEventKind } from '../domain/employee';
import { cliVars, intakeSender, withCliClient } from '../app/cli-context';
import { setupCluster, setupReconcileSchedule, setupSyncSchedule } from '../app/setup';
import { registerAuditCommands } from './cli-audit';
import { registerGuardCommands } from './cli-guard';
import { registerImportCommands } from './cli-import';
import { registerPolicyCommands } from './cli-policy';
import { registerPeopleCommands } from './cli-people';
import { registerPlanCommands } from './cli-plan';
import { registerReportCommands } from './cli-report';
import { registerUpcomingCommands } from './cli-upcoming';
import { registerSyncCommands } from './cli-sync';
import { registerDriftCommands } from './cli-drift';
import { adoptCurrentPolicy, personStatus, resolveEntityException, retryStep } from './operations';

const intakeClient = intakeSender;
const withTemporal = withCliClient;

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const program = new Command('tenure').description('HR-driven access lifecycle on Temporal');
registerPlanCommands(program);
registerAuditCommands(program);
registerImportCommands(program);
registerPeopleCommands(program);
registerReportCommands(program);
registerUpcomingCommands(program);
registerSyncCommands(program);
registerDriftCommands(program);
registerGuardCommands(program);
registerPolicyCommands(program);

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
  .command('setup')
  .description(
    "make the Temporal cluster ready: the namespace (where allowed) and Tenure's search attributes; idempotent",
  )
  .option('--retention-days <n>', 'retention of closed runs, when the namespace is created', (v) => Number(v), 30)
  .action(async (opts: { retentionDays: number }) =>
    withTemporal(async (client) => {
      const report = await setupCluster(client.connection as Connection, {
        namespace: client.options.namespace,
        retentionDays: opts.retentionDays,
      });
      print({
        ...report,
        ...(await setupSyncSchedule(client, cliVars())),
        ...(await setupReconcileSchedule(client, cliVars())),
      });
    }),
  );

program
  .command('status')
  .description("a person's entity, its queue and every run (queued, running or finished)")
  .argument('<hrId>')
  .action(async (hrId: string) =>
    withTemporal(async (client) => {
      const status = await personStatus(client, hrId);
      if (!status) {
        process.stderr.write(`no Tenure workflow for ${hrId}\n`);
        process.exitCode = 1;
        return;
      }
      print(status);
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
  .command('entity-exception')
  .description("retry or dismiss an open exception of a person's entity (tenure status shows them)")
  .argument('<hrId>')
  .argument('<exceptionId>', "the id in the entity's `exceptions`")
  .argument('<action>', 'retry | dismiss')
  .option('--as <name>', 'operator name recorded (default: $TENURE_OPERATOR or your user name)')
  .action(async (hrId: string, id: string, action: string, opts: { as?: string }) => {
    if (action !== 'retry' && action !== 'dismiss') throw new Error(`action must be retry or dismiss, not "${action}"`);
    const by = `cli:${(opts.as ?? process.env.TENURE_OPERATOR ?? userInfo().username).replace(/\s+/g, '_')}`;
    await withTemporal(async (client) => {
      const status = await resolveEntityException(client, hrId, id, action, by);
      print({ resolved: id, action, exceptions: status.exceptions ?? [] });
    });
  });

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
