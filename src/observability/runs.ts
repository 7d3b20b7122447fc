/**
 * What a workflow id and a step say about access: which run it belongs to, and whether the step is the moment a
 * person's access changed. Pure, and shared by the worker's metrics and `tenure report`, so both count the same
 * thing.
 */
import type { HrEventKind } from '../domain/employee';
import { hrEventKinds } from '../domain/employee';

/** Whether a step gave access or took it away. */
export type AccessDirection = 'grant' | 'revoke';

/** A workflow id, read back: the person, and the run (HR event) it belongs to. */
export interface RunRef {
  hrId: string;
  /** The run's event kind; `approval` and `task` for the people-in-the-loop children of a run. */
  kind: HrEventKind | 'approval' | 'task';
  eventId: string;
  /** The run's own workflow id (`employee/<hrId>/<kind>/<eventId>`); for approvals and tasks, their parent's id is unknown. */
  workflowId: string;
}

const PREFIX = 'employee/';

/**
 * Reads `employee/<hrId>/<kind>/<eventId>`, `employee/<hrId>/approval/<eventId>/<systemId>` and
 * `employee/<hrId>/task/<eventId>/<systemId>/<action>` (src/domain/ids.ts, src/domain/approval.ts). The HR id is
 * given when known (evidence carries it), so an HR id or event id with a slash still reads right.
 * `undefined` for anything else (the entity workflow `employee/<hrId>`, a request id from the intake).
 */
export function parseRunWorkflowId(workflowId: string, hrId?: string): RunRef | undefined {
  if (!workflowId.startsWith(PREFIX)) return undefined;
  let person: string;
  let rest: string;
  if (hrId !== undefined) {
    if (!workflowId.startsWith(`${PREFIX}${hrId}/`)) return undefined;
    person = hrId;
    rest = workflowId.slice(PREFIX.length + hrId.length + 1);
  } else {
    const parts = workflowId.slice(PREFIX.length).split('/');
    if (parts.length < 3) return undefined;
    person = parts[0] ?? '';
    rest = parts.slice(1).join('/');
  }
  const slash = rest.indexOf('/');
  if (slash <= 0 || !person) return undefined;
  const kind = rest.slice(0, slash);
  let eventId = rest.slice(slash + 1);
  if (kind === 'approval' || kind === 'task') {
    const trailing = kind === 'approval' ? 1 : 2;
    const parts = eventId.split('/');
    if (parts.length <= trailing) return undefined;
    eventId = parts.slice(0, parts.length - trailing).join('/');
    return { hrId: person, kind, eventId, workflowId };
  }
  if (!(hrEventKinds as readonly string[]).includes(kind) || !eventId) return undefined;
  return { hrId: person, kind: kind as HrEventKind, eventId, workflowId };
}

/** The same run, whatever child of it a workflow id names: `<hrId>/<eventId>`. */
export function runKey(ref: Pick<RunRef, 'hrId' | 'eventId'>): string {
  return `${ref.hrId}/${ref.eventId}`;
}

const GRANT_KINDS: readonly string[] = ['hire', 'rehire', 'leave_end'];
const REVOKE_KINDS: readonly string[] = ['termination', 'cancel_hire', 'leave_start'];
/** Outcomes that changed nothing: there was no account, or the step did not apply. */
const NO_CHANGE: readonly string[] = ['no_account', 'skipped', 'not_required'];

/**
 * Is this step, in a run of this kind, the moment access changed? Grants: `activate_account` in a hire, rehire or
 * return, and `activate_account` or `assign_groups` in a mover's run (the account is live, so new groups are new
 * access). Revocations: `disable_account` in an exit, a cancelled hire or a leave. Manual tasks count the same way
 * (`manual_task_completed` of a `create_account` / `disable_account` task) in the report.
 *
 * Runs Tenure schedules itself — a mover's grace-period revocation (`remove_groups`, kind `change`) and a leaver's
 * retention deletion (`delete_account`, kind `termination`) — are deliberately delayed by policy and are not
 * matched: they are not a reaction to an HR change.
 */
export function accessChange(
  kind: RunRef['kind'],
  action: string,
  outcome: string,
  taskAction?: string,
): AccessDirection | undefined {
  if (NO_CHANGE.includes(outcome) || outcome === 'failed' || outcome === 'retrying') return undefined;
  const step = action === 'manual_task_completed' ? taskAction : action;
  if (action === 'manual_task_completed' && outcome !== 'done') return undefined;
  if (step === 'activate_account' || step === 'create_account') {
    if (step === 'create_account' && action !== 'manual_task_completed') return undefined;
    return GRANT_KINDS.includes(kind) || kind === 'change' ? 'grant' : undefined;
  }
  if (step === 'assign_groups') return kind === 'change' ? 'grant' : undefined;
  if (step === 'disable_account') return REVOKE_KINDS.includes(kind) ? 'revoke' : undefined;
  return undefined;
}
