import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPolicyFile } from '../config/policy-file';
import { employeeRecordSchema } from '../domain/employee';
import { planHireEvent } from '../domain/plan-event';

/** `tenure plan --record file.json`: what a hire would run under the policy — and nothing runs. */
export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description('print the plan a hire would run (systems, groups, order, waits) without running anything')
    .requiredOption('--record <file>', 'an EmployeeRecord as JSON')
    .option('--policy <file>', 'policy file (default: $TENURE_POLICY or config/tenure.dev.yaml)')
    .option('--json', 'print the plan as JSON')
    .action((opts: { record: string; policy?: string; json?: boolean }) => {
      const loaded = loadPolicyFile(opts.policy ?? process.env.TENURE_POLICY ?? 'config/tenure.dev.yaml');
      const parsed = employeeRecordSchema.safeParse(JSON.parse(readFileSync(opts.record, 'utf8')));
      if (!parsed.success) {
        const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
        throw new Error(`invalid record ${opts.record}:\n${lines.join('\n')}`);
      }
      const result = planHireEvent(parsed.data, loaded.policy, loaded.version);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        if (!result.ok) process.exitCode = 1;
        return;
      }
      if (!result.ok) {
        process.stderr.write(`no plan: ${result.reason}\n`);
        process.exitCode = 1;
        return;
      }
      const { plan } = result;
      const out = [
        `Plan for ${parsed.data.hrId} under policy ${loaded.path} (version ${plan.policyVersion})`,
        `  playbooks:        ${plan.playbooks.join(', ') || '(none)'}`,
        `  pre-provision at: ${result.preProvisionAt}  (accounts created disabled)`,
        `  activate at:      ${result.effectiveAt}  (hire instant)`,
        '',
        ...plan.steps.map((s, i) => {
          const what = [
            s.systemId,
            s.groups?.length ? `groups ${s.groups.join(', ')}` : '',
            s.licence ? `licence ${s.licence}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          const after = s.dependsOn.length ? `  after ${s.dependsOn.join(', ')}` : '';
          return `  ${String(i + 1).padStart(2)}. [${s.phase}] ${s.action}${what ? ` (${what})` : ''}${after}`;
        }),
        '',
        'Nothing was run.',
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
