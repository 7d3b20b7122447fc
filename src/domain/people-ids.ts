/**
 * The ids of the people-in-the-loop workflows and tasks. Pure and free of zod, so workflow code can import them
 * without pulling the policy schemas into the workflow bundle (re-exported by approval.ts).
 */

/** The request an approval is about, shown to people: `<hrId>/<eventId>/<systemId>`. */
export function approvalRequestId(hrId: string, eventId: string, systemId: string): string {
  return `${hrId}/${eventId}/${systemId}`;
}

/** `employee/<hrId>/approval/<eventId>/<systemId>`: one approval per system per HR event, never started twice. */
export function approvalWorkflowId(hrId: string, eventId: string, systemId: string): string {
  return `employee/${hrId}/approval/${eventId}/${systemId}`;
}

/** `fix_exception`: a step failed permanently; its owner fixes the cause and clicks Done, and the step is retried. */
export type ManualTaskAction = 'create_account' | 'disable_account' | 'transfer_data' | 'fix_exception';

/** The id people use for a manual task (`tenure task complete <taskId>`): `<hrId>/<eventId>/<systemId>/<action>`. */
export function manualTaskId(hrId: string, eventId: string, systemId: string, action: ManualTaskAction): string {
  return `${hrId}/${eventId}/${systemId}/${action}`;
}

/** `employee/<hrId>/task/<eventId>/<systemId>/<action>`, from a task id. */
export function manualTaskWorkflowId(taskId: string): string {
  const parts = taskId.split('/');
  const [hrId, eventId, systemId, action] = parts;
  if (parts.length !== 4 || !hrId || !eventId || !systemId || !action) {
    throw new RangeError(`"${taskId}" is not a task id (<hrId>/<eventId>/<systemId>/<action>)`);
  }
  return `employee/${hrId}/task/${eventId}/${systemId}/${action}`;
}

/** What a people-in-the-loop workflow id says: whose, which event, which system. */
export type PeopleWorkflowRef =
  | { kind: 'approval'; hrId: string; eventId: string; systemId: string }
  | { kind: 'task'; hrId: string; eventId: string; systemId: string; action: string; taskId: string };

export function parsePeopleWorkflowId(workflowId: string): PeopleWorkflowRef | undefined {
  const a = /^employee\/([^/]+)\/approval\/([^/]+)\/([^/]+)$/.exec(workflowId);
  if (a?.[1] && a[2] && a[3]) return { kind: 'approval', hrId: a[1], eventId: a[2], systemId: a[3] };
  const t = /^employee\/([^/]+)\/task\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(workflowId);
  if (t?.[1] && t[2] && t[3] && t[4]) {
    return {
      kind: 'task',
      hrId: t[1],
      eventId: t[2],
      systemId: t[3],
      action: t[4],
      taskId: `${t[1]}/${t[2]}/${t[3]}/${t[4]}`,
    };
  }
  return undefined;
}
