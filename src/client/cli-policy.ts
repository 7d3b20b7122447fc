/**
 * `tenure policy diff --policy new.yaml`: for every person Tenure knows (the record each running entity last
 * accepted), the accounts and groups the new policy would give and take away compared with the current one
 * (`TENURE_POLICY`, or `--current`), and whether the mass-change guard would hold adopting it (docs/guard.md).
 * Nothing runs. People are named by HR id only.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { cliVars, withCliClient } from '../app/cli-context';
import { loadPolicyFile } from '../config/policy-file';
import type { EmployeeRecord } from '../domain/employee';
import { evaluateGuard, emptyImpact } from '../domain/guard-thresholds';
import { TASK_QUEUE } from '../domain/ids';
import type { PolicyDiff } from '../domain/policy-diff';
import { diffPolicies } from '../domain/policy-diff';
import { resolveGuardSettings } from '../domain/policy-guard';
import { employeeStatusQuery } from '../workflows/employee/messages';

/** The record every running entity on the task queue last accepted (an entity that does not answer is left out). */
export async function knownRecords(client: Client, taskQueue: string): Promise<EmployeeRecord[]> {
  const ids: string[] = [];
  const query = `WorkflowType = 'employeeWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
  const out: EmployeeRecord[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] ?? '';
      try {
        const s = await client.workflow.getHandle(id).query(employeeStatusQuery);
        if (s.record) out.push(s.record);
      } catch {
        // Gone or not answering: not part of the preview.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, lane));
  return out;
}

export interface PolicyDiffReport extends PolicyDiff {
  current: { path?: string; version: string };
  next: { path?: string; version: string };
  /** Whether adopting it in one run crosses the new policy's guard thresholds, and which. */
  guard: { hold: boolean; reasons: string[] };
}

function text(r: PolicyDiffReport): string {
  const lines = [
    `policy ${r.current.version} -> ${r.next.version}: ${r.changed.length} of ${r.people} people change`,
    `  accounts: +${r.totals.gainAccounts} -${r.totals.loseAccounts}; groups: +${r.totals.gainGroups} -${r.totals.loseGroups}`,
    r.guard.hold
      ? `  the mass-change guard would hold adopting it: ${r.guard.reasons.join('; ')}`
      : '  within the mass-change guard thresholds',
  ];
  const what = (c: { systemId: string; account: boolean; groups: string[] }): string =>
    c.account
      ? `${c.systemId}${c.groups.length ? ` (${c.groups.join(', ')})` : ''}`
      : `${c.systemId} groups ${c.groups.join(', ')}`;
  for (const p of r.changed) {
    lines.push(`${p.hrId}:`);
    for (const g of p.gains) lines.push(`  + ${what(g)}`);
    for (const l of p.losses) lines.push(`  - ${what(l)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Adds `policy diff` to the `tenure` program. */
export function registerPolicyCommands(program: Command): Command {
  const policy = program.command('policy').description('preview a policy change');
  policy
    .command('diff')
    .description('for every person, the accounts and groups a new policy would give and take away; nothing runs')
    .requiredOption('--policy <file>', 'the new policy file')
    .option('--current <file>', 'the policy in force (default: $TENURE_POLICY)')
    .option('--json', 'print JSON', false)
    .action(async (opts: { policy: string; current?: string; json: boolean }) => {
      const vars = cliVars();
      const currentPath = opts.current ?? vars.TENURE_POLICY;
      if (!currentPath) throw new Error('no current policy: set TENURE_POLICY or pass --current');
      const current = loadPolicyFile(currentPath);
      const next = loadPolicyFile(opts.policy);
      const taskQueue = vars.TENURE_TASK_QUEUE ?? TASK_QUEUE;
      const records = await withCliClient((c) => knownRecords(c, taskQueue));
      const diff = diffPolicies(records, current.policy, next.policy);
      const verdict = evaluateGuard(resolveGuardSettings(next.policy.guard), diff.impact, emptyImpact(), diff.people);
      const report: PolicyDiffReport = {
        ...diff,
        current: { ...(current.path ? { path: current.path } : {}), version: current.version },
        next: { ...(next.path ? { path: next.path } : {}), version: next.version },
        guard: { hold: verdict.hold, reasons: verdict.reasons },
      };
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : text(report));
    });
  return policy;
}
