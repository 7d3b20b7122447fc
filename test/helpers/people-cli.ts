import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import type { AuditStore } from '../../src/activities/audit';
import { registerPeopleCommands } from '../../src/client/cli-people';

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `tenure <args>` (the people commands) in-process against `client`, recording refusals in `audit`. */
export async function runPeopleCli(
  client: Client,
  args: string[],
  opts: { audit?: AuditStore; operator?: string } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const audit = opts.audit;
  const program = new Command('tenure').exitOverride();
  registerPeopleCommands(program, {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    withClient: (fn) => fn(client),
    operator: () => opts.operator ?? 'test-operator',
    setExitCode: (code) => {
      exitCode = code;
    },
    // The harness owns the store: hand out a view whose close() leaves it open.
    openAudit: audit ? () => Promise.resolve({ ...bind(audit), close: () => Promise.resolve() }) : undefined,
  });
  await program.parseAsync(['node', 'tenure', ...args]);
  return { stdout, stderr, exitCode };
}

function bind(a: AuditStore): AuditStore {
  return {
    append: (e) => a.append(e),
    stream: (q) => a.stream(q),
    count: (q) => a.count(q),
    verify: () => a.verify(),
    close: () => a.close(),
  };
}
