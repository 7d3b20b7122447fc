import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';
import type { Policy } from '../domain/policy';
import { policySchema } from '../domain/policy';

export interface LoadedPolicy {
  policy: Policy;
  /** Content hash of the validated policy: runs record the version they started with. */
  version: string;
  path?: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

function formatIssues(source: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return `invalid policy ${source}:\n${lines.join('\n')}`;
}

/** Validates a policy object; throws a PolicyError naming every bad field. */
export function parsePolicy(data: unknown, source = '(inline)'): LoadedPolicy {
  const parsed = policySchema.safeParse(data);
  if (!parsed.success) throw new PolicyError(formatIssues(source, parsed.error.issues));
  const version = createHash('sha256').update(JSON.stringify(parsed.data)).digest('hex').slice(0, 12);
  return { policy: parsed.data, version };
}

/** Reads and validates a YAML policy file once, at process start. */
export function loadPolicyFile(path: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read policy file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new PolicyError(`policy file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return { ...parsePolicy(data, path), path };
}
