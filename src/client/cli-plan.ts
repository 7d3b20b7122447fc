import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPolicyFile } from '../config/policy-file';
import type { EmployeeRecord } from '../domain/employee';
import { employeeRecordSchema } from '../domain/employee';
import { cleanRecordText } from '../domain/text';
import type { PlanStep } from '../domain/plan';
import { planChange } from '../domain/plan-change';
import { planHireEvent } from '../domain/plan-event';
import { formatDuration } from '../domain/approval';

function readRecord(file: string): EmployeeRecord {
  const parsed = employeeRecordSchema.safeParse(cleanRecordText(JSON.parse(readFileSync(file, 'utf8'))));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid record ${file}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Prints a plan result: JSON as it is, or the lines `render` makes of a plan; no plan sets exit code 1. */
function printResult<R extends { ok: true } | { ok: false; reason: string }>(
  result: R,
  json: boolean | undefined,
  render: (ok: Extract<R, { ok: true }>) => string[],
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (!result.ok) process.exitCode = 1;
    return;
  }
  if (!result.ok) {
    process.stderr.write(`no plan: ${(result as { reason: string }).reason}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${[...render(result as Extract<R, { ok: true }>), '', 'Nothing was run.'].join('\n')}\n`);
}

function stepLines(steps: PlanStep[]): string[] {
  return steps.map((s, i) => {
    const what = [
      s.systemId,
      s.groups?.length ? `groups ${s.groups.join(', ')}` : '',
      s.licence ? `licence ${s.licence}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const after = s.dependsOn.length ? `  after ${s.dependsOn.join(', ')}` : '';
    return `  ${String(i + 1).padStart(2)}. [${s.phase}] ${s.action}${what ? ` (${what})` : ''}${after}`;
  });
}

/** `tenure plan --record file.json`: what a hire would run under the policy — and nothing runs. */
export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description(
      'print the plan a hire (or, with --from, a move) would run: systems, groups, order, waits; nothing runs',
    )
    .requiredOption('--record <file>', 'an EmployeeRecord as JSON')
    .option('--from <file>', "the person's current record: plan the move from it to --record (a mover)")
    .option('--policy <file>', 'policy file (default: $TENURE_POLICY or config/tenure.dev.yaml)')
    .option('--json', 'print the plan as JSON')
    .action((opts: { record: string; from?: string; policy?: string; json?: boolean }) => {
      const loaded = loadPolicyFile(opts.policy ?? process.env.TENURE_POLICY ?? 'config/tenure.dev.yaml');
      const record = readRecord(opts.record);
      if (opts.from) {
        const previous = readRecord(opts.from);
        const change = planChange(previous, record, loaded.policy, loaded.version, new Date().toISOString());
        printResult(change, opts.json, (result) => [
          `Move of ${record.hrId} under policy ${loaded.path} (version ${result.plan.policyVersion})`,
          `  changes: ${result.changes.join('; ') || '(nothing that affects access)'}`,
          '',
          'At once:',
          ...(result.plan.steps.length ? stepLines(result.plan.steps) : ['  (nothing)']),
          '',
          `After the grace period (${formatDuration(loaded.policy.timing.moverGrace)}):`,
          ...(result.revocations.length
            ? result.revocations.map((r) =>
                r.groups
                  ? `  - ${r.systemId}: leave groups ${r.groups.join(', ')}`
                  : `  - ${r.systemId}: disable the account`,
              )
            : ['  (nothing)']),
        ]);
        return;
      }
      printResult(planHireEvent(record, loaded.policy, loaded.version), opts.json, (result) => [
        `Plan for ${record.hrId} under policy ${loaded.path} (version ${result.plan.policyVersion})`,
        `  playbooks:        ${result.plan.playbooks.join(', ') || '(none)'}`,
        `  pre-provision at: ${result.preProvisionAt}  (accounts created disabled)`,
        `  activate at:      ${result.effectiveAt}  (hire instant)`,
        '',
        ...stepLines(result.plan.steps),
      ]);
    });
}
