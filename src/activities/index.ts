import { markRateLimited } from '../domain/rate-limit';
import type { WebClient } from '@slack/web-api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { LoadedPolicy } from '../config/policy-file';
import type { EmployeeRecord, HrEvent } from '../domain/employee';
import { displayName } from '../domain/employee';
import { stepIdempotencyKey } from '../domain/ids';
import { workEmailCandidate } from '../domain/naming';
import type { HirePlanResult } from '../domain/plan-event';
import { planHireEvent } from '../domain/plan-event';
import type { ChangePlanResult } from '../domain/plan-change';
import { planChange } from '../domain/plan-change';
import type { RepairPlanResult } from '../domain/plan-repair';
import { planRepair } from '../domain/plan-repair';
import type { ExitPlanResult } from '../domain/plan-exit';
import { planExit, planReturn } from '../domain/plan-exit';
import { identityProvider } from '../domain/policy';
import type { Actor, AuditStore, EvidenceInput } from './audit/types';
import { toActivityFailure } from './errors';
import { identityProviderDirectory } from './directory';
import type { HrisConnector } from './hris-connector';
import type { Account, ActivationContext, GroupCapable, IdentityConnector } from './identity';
import { ConnectorError, isGroupCapable, isLicenceCapable } from './identity';
import { slackCall } from './slack/notifier';
import type { ManagerDirectory } from './slack/activities';
import { createPeopleActivities } from './slack/activities';
import type { TenureMetrics } from '../observability/metrics';
import { defaultTenureMetrics } from '../observability/metrics';
import { accessChange, parseRunWorkflowId } from '../observability/runs';

export interface ActivityDeps {
  policy: LoadedPolicy;
  /** One connector per system id in the policy. */
  connectors: ReadonlyMap<string, IdentityConnector>;
  /** Where every step's evidence goes. */
  audit: AuditStore;
  /** Slack Web API client, when the policy configures Slack. */
  slack?: WebClient;
  /** The HRIS written back to, when the policy configures one. */
  hris?: HrisConnector;
  /** Who manages whom, for escalation to the manager's manager. */
  directory?: ManagerDirectory;
  /** Where step durations, failures and access-change latencies are counted. @default defaultTenureMetrics() */
  metrics?: TenureMetrics;
}

/** The actor recorded for automated steps. */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'tenure-worker' };

/** How many naming candidates are tried before giving up (ana.lima … ana.lima50). */
export const MAX_EMAIL_CANDIDATES = 50;

export interface PlanEventInput {
  event: HrEvent;
}

export type PlanEventResult = HirePlanResult;

export interface PlanChangeInput {
  /** The record as Tenure last accepted it. */
  previous: EmployeeRecord;
  event: HrEvent;
}

/** One step of a run, as the workflow hands it to its activity. */
export interface StepInput {
  stepId: string;
  systemId?: string;
  record: EmployeeRecord;
  /** The work email: from HR, or allocated by an earlier step. */
  workEmail?: string;
  groups?: string[];
  licence?: string;
  /** The system's account id, when an earlier step created it. */
  accountId?: string;
  policyVersion: string;
  /** The run's instant had already passed when it started (a back-dated event): the evidence says so. */
  late?: boolean;
  /** For `verify_exit`: every other step of the run as it stands, recorded as the exit's evidence summary. */
  summary?: { id: string; state: string; outcome?: string }[];
  /**
   * The kind of run the step belongs to (`hire`, `termination`, `leave_start`, `leave_end`, …): a system with more
   * states than on/off (Okta) suspends for a leave and deactivates at exit. Absent in runs recorded before it.
   */
  runKind?: string;
  /**
   * The run's workflow id when the person's entity carries the run out itself (docs/decisions/0004): the step's
   * evidence, idempotency key and request id are the run's, as for a run of its own. Absent: the activity's workflow.
   */
  runWorkflowId?: string;
}

/** Why a run turns an account on or off, from the run's kind. */
function activationReason(runKind: string | undefined, active: boolean): ActivationContext {
  if (active) return { reason: runKind === 'leave_end' ? 'return' : 'hire' };
  if (runKind === 'leave_start') return { reason: 'leave' };
  if (runKind === 'cancel_hire') return { reason: 'cancel' };
  return { reason: 'exit' };
}

export interface StepResult {
  /** created, adopted, updated, assigned, activated, allocated, written, notified, … */
  outcome: string;
  accountId?: string;
  workEmail?: string;
  /** When the system confirmed it. */
  at: string;
  /** `createActiveAccount`: the activation step done in the same activity. */
  activation?: StepResult;
}

/** A create step that also carries out the system's activation step (the hire instant has passed). */
export interface CreateActiveInput extends StepInput {
  /** The activation step's id: its evidence is written under its own key, as if it had run on its own. */
  activationStepId: string;
}

/** Builds the activities with their dependencies injected, so tests pass real local peers. */
export function createActivities(deps: ActivityDeps) {
  const { policy, version } = deps.policy;
  const idpId = identityProvider(policy).id;
  const metrics = deps.metrics ?? defaultTenureMetrics();

  function connector(systemId: string | undefined): IdentityConnector {
    const c = systemId ? deps.connectors.get(systemId) : undefined;
    if (!c)
      throw ApplicationFailure.nonRetryable(`system "${systemId}" has no connector in this worker's policy`, 'config');
    return c;
  }

  /**
   * Runs one step: the action, then its evidence under the step's idempotency key (a retry writes nothing new).
   * Connector errors become retryable or permanent failures; a permanent one is evidence too.
   */
  async function step(
    input: StepInput,
    action: string,
    fn: () => Promise<{ result: StepResult; detail?: Record<string, unknown>; readBack?: Record<string, unknown> }>,
  ): Promise<StepResult> {
    const info = Context.current().info;
    const workflowId = input.runWorkflowId ?? info.workflowExecution?.workflowId ?? 'standalone';
    const key = stepIdempotencyKey(workflowId, input.stepId);
    const base = {
      hrId: input.record.hrId,
      systemId: input.systemId,
      actor: SYSTEM_ACTOR,
      action,
      requestId: workflowId,
    };
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      const { result, detail, readBack } = await fn();
      await deps.audit.append({
        ...base,
        key,
        at: result.at,
        outcome: result.outcome,
        detail: {
          ...(result.accountId ? { accountId: result.accountId } : {}),
          policyVersion: input.policyVersion,
          // When HR made the change: `tenure report` measures the time to access change from it.
          hrChangedAt: input.record.sourceUpdatedAt,
          ...(input.late ? { late: true } : {}),
          ...detail,
        },
        ...(readBack ? { readBack } : {}),
      } satisfies EvidenceInput);
      metrics.step({ system: input.systemId, action, seconds: seconds() });
      const run = parseRunWorkflowId(workflowId, input.record.hrId);
      const direction = run && accessChange(run.kind, action, result.outcome);
      if (direction) {
        metrics.accessChanged(direction, (Date.parse(result.at) - Date.parse(input.record.sourceUpdatedAt)) / 1000);
      }
      return result;
    } catch (err) {
      const failure = toActivityFailure(err);
      const final = failure instanceof ApplicationFailure && failure.nonRetryable;
      metrics.step({
        system: input.systemId,
        action,
        seconds: seconds(),
        failure: { final: final === true, type: (failure instanceof ApplicationFailure && failure.type) || 'error' },
      });
      if (final || info.attempt === 1) {
        await deps.audit.append({
          ...base,
          key: `${key}#${final ? 'failed' : 'retrying'}#${input.policyVersion}`,
          at: new Date().toISOString(),
          outcome: final ? 'failed' : 'retrying',
          detail: { error: failure.message, attempt: info.attempt },
        });
      }
      throw failure;
    }
  }

  /** Reads the account back; only an answer that shows the wanted state counts as done. */
  async function readBack(c: IdentityConnector, hrId: string, userName: string, active: boolean): Promise<Account> {
    const found = await c.findByHrKey(hrId, userName);
    if (!found || found.active !== active) {
      throw new ConnectorError(
        'transient',
        `read-back does not show the account ${active ? 'active' : 'inactive'} yet`,
        {
          systemId: c.systemId,
        },
      );
    }
    return found;
  }

  /** The person's account in a system: by HR key, else by the work email (so accounts Tenure did not create count). */
  function findAccount(c: IdentityConnector, input: StepInput): Promise<Account | undefined> {
    return c.findByHrKey(input.record.hrId, input.workEmail ?? input.record.workEmail);
  }

  /** The system's connector, which must manage group membership. */
  function groupConnector(systemId: string | undefined): IdentityConnector & GroupCapable {
    const c = connector(systemId);
    if (!isGroupCapable(c)) {
      throw ApplicationFailure.nonRetryable(`system "${systemId}" does not support groups`, 'config');
    }
    return c;
  }

  /** A step that found no account: a result, with the read-back that shows it. */
  function noAccount(detail?: Record<string, unknown>) {
    return {
      result: { outcome: 'no_account', at: new Date().toISOString() },
      ...(detail ? { detail } : {}),
      readBack: { found: false },
    };
  }

  /**
   * Where the system assigns licences directly (Microsoft 365) and the policy names no licence group, the step's
   * licence is assigned to the account and read back held.
   */
  async function assignDirectLicence(c: IdentityConnector, input: StepInput, accountId: string) {
    const sys = policy.systems.find((s) => s.id === input.systemId);
    if (!input.licence || sys?.licenceGroup || !isLicenceCapable(c)) return undefined;
    const r = await c.assignLicence(accountId, input.licence);
    const held = await c.listLicences(accountId);
    if (!held.includes(input.licence)) {
      throw new ConnectorError('transient', `read-back does not show licence ${input.licence} assigned yet`, {
        systemId: c.systemId,
      });
    }
    return {
      detail: { licenceAssignment: r.outcome === 'changed' ? 'assigned' : 'already_assigned' },
      readBack: { licences: held },
    };
  }

  function requireEmail(input: StepInput): string {
    if (!input.workEmail)
      throw ApplicationFailure.nonRetryable('no work email yet: allocate_work_email must run first', 'invalid_request');
    return input.workEmail;
  }

  /** Creates (or adopts) the account, disabled until the hire instant, and reads it back. */
  function createAccount(input: StepInput): Promise<StepResult> {
    return createOrAdopt(input);
  }

  /**
   * The create step. A new account is created off until the hire instant, and an account someone already uses
   * (adopted, or found again by a retry) is left as active as it is. With `activation` (the step also carries out
   * the system's activation, `createActiveAccount`): a new account is created on, in the same write, and
   * `activation.shown` receives the read-back, which the activation's evidence then cites when it shows the account
   * on (an adopted account that is off is still switched on by the activation step itself).
   */
  function createOrAdopt(input: StepInput, activation?: { shown(account: Account): void }): Promise<StepResult> {
    return step(input, 'create_account', async () => {
      const c = connector(input.systemId);
      const userName = requireEmail(input);
      const name = displayName(input.record);
      const managerHrId = input.record.managerHrId;
      const manager = managerHrId ? await c.findByHrKey(managerHrId) : undefined;
      const { account, outcome } = await c.ensureAccount({
        hrId: input.record.hrId,
        userName,
        givenName: name.givenName,
        familyName: name.familyName,
        email: userName,
        title: input.record.title,
        department: input.record.department,
        ...(manager ? { managerId: manager.id } : {}),
        countryCode: input.record.location.countryCode,
        location: input.record.location.name,
        ...(activation ? { createActive: true } : {}),
      });
      const back = await readBack(c, input.record.hrId, userName, account.active);
      activation?.shown(back);
      const licence = await assignDirectLicence(c, input, account.id);
      return {
        result: { outcome, accountId: account.id, at: new Date().toISOString() },
        detail: input.licence ? { licence: input.licence, ...licence?.detail } : {},
        readBack: { found: true, accountId: back.id, active: back.active, ...licence?.readBack },
      };
    });
  }

  /** Enables the account at the hire instant and reads it back active. */
  function activateAccount(input: StepInput): Promise<StepResult> {
    return activate(input);
  }

  /**
   * The activation step. `shown`: the create step of the same activity already created or switched the account on
   * and read it back on, so that read-back is the evidence, with no second write or read.
   */
  function activate(input: StepInput, shown?: Account): Promise<StepResult> {
    return step(input, 'activate_account', async () => {
      if (shown?.active && shown.id === input.accountId) {
        return {
          result: { outcome: 'activated', accountId: shown.id, at: new Date().toISOString() },
          detail: { withCreate: true },
          readBack: { found: true, accountId: shown.id, active: shown.active },
        };
      }
      const c = connector(input.systemId);
      const userName = requireEmail(input);
      const accountId = input.accountId ?? (await c.findByHrKey(input.record.hrId, userName))?.id;
      if (!accountId) throw ApplicationFailure.nonRetryable('no account to activate', 'not_found');
      await c.setActive(accountId, true, activationReason(input.runKind, true));
      const back = await readBack(c, input.record.hrId, userName, true);
      return {
        result: { outcome: 'activated', accountId, at: new Date().toISOString() },
        readBack: { found: true, accountId: back.id, active: back.active },
      };
    });
  }

  return {
    ...createPeopleActivities({
      slack: deps.slack,
      audit: deps.audit,
      connectors: deps.connectors,
      policy,
      // The manager's manager comes from the identity provider unless the worker is given another directory.
      directory:
        deps.directory ?? (deps.connectors.has(idpId) ? identityProviderDirectory(connector(idpId)) : undefined),
    }),

    /** Computes the plan and the instants an event takes effect (a local activity of the entity workflow). */
    planEvent({ event }: PlanEventInput): Promise<PlanEventResult> {
      return Promise.resolve(markRateLimited(planHireEvent(event.record, policy, version), policy));
    },

    /** The mover plan: grants now, revocations after the grace period (a local activity of the entity). */
    planChangeEvent({ previous, event }: PlanChangeInput): Promise<ChangePlanResult> {
      return Promise.resolve(
        markRateLimited(planChange(previous, event.record, policy, version, event.receivedAt), policy),
      );
    },

    /** A reconciliation's repair of missing or drifted accounts (a local activity of the entity). */
    planRepairEvent({ event }: PlanEventInput): Promise<RepairPlanResult> {
      const repair = event.repair ?? { missing: [], drift: [] };
      return Promise.resolve(markRateLimited(planRepair(event.record, repair, policy, version), policy));
    },

    /** The exit plan and instant for a termination or a cancelled hire (a local activity of the entity). */
    planExitEvent({ event }: PlanEventInput): Promise<ExitPlanResult> {
      if (event.kind === 'leave_end') {
        return Promise.resolve(markRateLimited(planReturn(event.record, policy, version, event.receivedAt), policy));
      }
      const kind = event.kind === 'cancel_hire' || event.kind === 'leave_start' ? event.kind : 'termination';
      return Promise.resolve(markRateLimited(planExit(event.record, policy, version, kind, event.receivedAt), policy));
    },

    /**
     * A work email from the naming convention, unique across the identity provider's accounts: ana.lima, then
     * ana.lima2, … An address the person already holds (a retry, a rehire) is theirs again.
     */
    allocateWorkEmail(input: StepInput): Promise<StepResult> {
      return step(input, 'allocate_work_email', async () => {
        const idp = connector(idpId);
        const own = await idp.findByHrKey(input.record.hrId);
        if (own) {
          return { result: { outcome: 'adopted', workEmail: own.userName, at: new Date().toISOString() } };
        }
        const naming = policy.naming;
        if (!naming) throw ApplicationFailure.nonRetryable('the policy has no naming convention', 'config');
        const r = input.record;
        const first = r.preferredFirstName ?? r.legalFirstName;
        const last = r.preferredLastName ?? r.legalLastName;
        for (let n = 1; n <= MAX_EMAIL_CANDIDATES; n++) {
          const candidate = workEmailCandidate(first, last, naming.pattern, naming.workEmailDomain, n);
          const holder = await idp.findByUserName(candidate);
          if (!holder) {
            return {
              result: { outcome: 'allocated', workEmail: candidate, at: new Date().toISOString() },
              detail: { candidate: n },
            };
          }
        }
        throw ApplicationFailure.nonRetryable(
          `no free work email after ${MAX_EMAIL_CANDIDATES} candidates`,
          'conflict',
        );
      });
    },

    createAccount,

    /** Adds the account to each group the policy grants; already a member counts as done. */
    assignGroups(input: StepInput): Promise<StepResult> {
      return step(input, 'assign_groups', async () => {
        const c = groupConnector(input.systemId);
        const accountId = input.accountId ?? (await c.findByHrKey(input.record.hrId, input.workEmail))?.id;
        if (!accountId) throw ApplicationFailure.nonRetryable('no account to add to groups', 'not_found');
        const outcomes: Record<string, string> = {};
        for (const g of input.groups ?? []) outcomes[g] = (await c.addToGroup(g, accountId)).outcome;
        return {
          result: { outcome: 'assigned', accountId, at: new Date().toISOString() },
          detail: { groups: outcomes },
        };
      });
    },

    /** Writes the allocated work email back to the HRIS, so HR stays the source of truth. */
    writeBackEmail(input: StepInput): Promise<StepResult> {
      return step(input, 'write_back_email', async () => {
        if (!deps.hris) throw ApplicationFailure.nonRetryable('no HRIS connector configured', 'config');
        const email = requireEmail(input);
        await deps.hris.writeWorkEmail(input.record.hrId, email);
        return { result: { outcome: 'written', at: new Date().toISOString() }, detail: { hris: deps.hris.name } };
      });
    },

    activateAccount,

    /**
     * A hire whose instant has passed: the create step and the system's activation step in one activity (one task
     * of the run instead of two), each with its own evidence under its own key. A new account is created on and read
     * back once: two requests fewer than a create, its read-back, a switch-on and a second read-back, and the
     * activation's evidence cites that one read-back (`withCreate`). An adopted account that is off (a rehire) is
     * switched on as the activation step does on its own. A retry repeats both, idempotently: the account is
     * adopted, and an account already on is left on.
     */
    async createActiveAccount(input: CreateActiveInput): Promise<StepResult> {
      const { activationStepId, ...create } = input;
      let shown: Account | undefined;
      const created = await createOrAdopt(create, { shown: (a) => (shown = a) });
      const activation = await activate(
        { ...create, stepId: activationStepId, accountId: created.accountId ?? create.accountId },
        shown,
      );
      return { ...created, activation };
    },

    /**
     * Ends access in one system: finds the account by HR key or work email (so accounts Tenure did not create are
     * found too), disables it, and reads it back inactive. No account is a result, recorded as such.
     */
    disableAccount(input: StepInput): Promise<StepResult> {
      return step(input, 'disable_account', async () => {
        const c = connector(input.systemId);
        const account = await findAccount(c, input);
        if (!account) return noAccount();
        const wasActive = account.active;
        if (wasActive) await c.setActive(account.id, false, activationReason(input.runKind, false));
        const back = await c.findByHrKey(input.record.hrId, account.userName);
        if (back && back.active) {
          throw new ConnectorError('transient', `read-back still shows account ${account.id} active`, {
            systemId: c.systemId,
          });
        }
        return {
          result: {
            outcome: wasActive ? 'disabled' : 'already_disabled',
            accountId: account.id,
            at: new Date().toISOString(),
          },
          // Some systems remove an account when it is deactivated (GitHub): gone is inactive too.
          readBack: back ? { found: true, accountId: back.id, active: back.active } : { found: false },
        };
      });
    },

    /** Deletes the account (undoing pre-provisioning of a cancelled hire) and reads back that it is gone. */
    deleteAccount(input: StepInput): Promise<StepResult> {
      return step(input, 'delete_account', async () => {
        const c = connector(input.systemId);
        const account = await findAccount(c, input);
        if (account) await c.delete(account.id);
        const back = await findAccount(c, input);
        if (back?.active) {
          throw new ConnectorError('transient', `read-back still shows account ${back.id} active`, {
            systemId: c.systemId,
          });
        }
        return {
          result: { outcome: account ? 'deleted' : 'no_account', accountId: account?.id, at: new Date().toISOString() },
          readBack: back ? { found: true, accountId: back.id, active: back.active } : { found: false },
        };
      });
    },

    /**
     * A mover: brings title, department, name and manager (the manager's account in the same system) up to date in
     * one system, keeping the account as active as it is, and reads it back.
     */
    updateAccount(input: StepInput): Promise<StepResult> {
      return step(input, 'update_account', async () => {
        const c = connector(input.systemId);
        const account = await findAccount(c, input);
        if (!account) throw ApplicationFailure.nonRetryable('no account to update in this system', 'not_found');
        const managerHrId = input.record.managerHrId;
        const manager = managerHrId ? await c.findByHrKey(managerHrId) : undefined;
        const name = displayName(input.record);
        const { outcome } = await c.ensureAccount({
          hrId: input.record.hrId,
          userName: account.userName,
          givenName: name.givenName,
          familyName: name.familyName,
          title: input.record.title,
          department: input.record.department,
          ...(manager ? { managerId: manager.id } : {}),
          countryCode: input.record.location.countryCode,
          location: input.record.location.name,
          active: account.active,
        });
        const back = await readBack(c, input.record.hrId, account.userName, account.active);
        return {
          result: {
            outcome: outcome === 'adopted' ? 'unchanged' : 'updated',
            accountId: account.id,
            at: new Date().toISOString(),
          },
          detail: { fields: ['title', 'department', 'name', ...(manager ? ['manager'] : [])] },
          readBack: { found: true, accountId: back.id, active: back.active },
        };
      });
    },

    /** A mover after the grace period: leaves the groups the new role does not get; not a member counts as done. */
    removeGroups(input: StepInput): Promise<StepResult> {
      return step(input, 'remove_groups', async () => {
        const c = groupConnector(input.systemId);
        const account = await findAccount(c, input);
        if (!account) return noAccount();
        const outcomes: Record<string, string> = {};
        for (const g of input.groups ?? []) outcomes[g] = (await c.removeFromGroup(g, account.id)).outcome;
        return {
          result: { outcome: 'removed', accountId: account.id, at: new Date().toISOString() },
          detail: { groups: outcomes },
        };
      });
    },

    /**
     * Ends the leaver's sign-in sessions at the identity provider through its vendor API. A system without one says
     * so in the evidence (`not_supported`): the disabled account stops new sign-ins, open sessions end when they expire.
     */
    revokeSessions(input: StepInput): Promise<StepResult> {
      return step(input, 'revoke_sessions', async () => {
        const c = connector(input.systemId);
        const account = await findAccount(c, input);
        if (!account) return noAccount();
        const r = c.revokeSessions
          ? await c.revokeSessions(account.id)
          : { outcome: 'not_supported' as const, detail: `${c.systemId}: the connector has no sessions API` };
        return {
          result: { outcome: r.outcome, accountId: account.id, at: new Date().toISOString() },
          detail: { sessions: r.detail },
          ...(r.readBack ? { readBack: { sessions: r.readBack } } : {}),
        };
      });
    },

    /**
     * Frees the leaver's licence seat: out of the licence group when the policy names one (read back), otherwise the
     * seat goes with the disabled account, and the read-back shows that account inactive or gone.
     */
    reclaimLicence(input: StepInput): Promise<StepResult> {
      return step(input, 'reclaim_licence', async () => {
        const c = connector(input.systemId);
        const sys = policy.systems.find((s) => s.id === input.systemId);
        const licence = input.licence ?? sys?.licence;
        const account = await findAccount(c, input);
        if (!account) return noAccount({ licence });
        if (sys?.licenceGroup) {
          const r = await groupConnector(input.systemId).removeFromGroup(sys.licenceGroup, account.id);
          return {
            result: { outcome: 'reclaimed', accountId: account.id, at: new Date().toISOString() },
            detail: {
              licence,
              group: sys.licenceGroup,
              membership: r.outcome === 'changed' ? 'removed' : 'not_member',
            },
          };
        }
        if (licence && isLicenceCapable(c)) {
          const r = await c.removeLicence(account.id, licence);
          const held = await c.listLicences(account.id);
          if (held.includes(licence)) {
            throw new ConnectorError('transient', `read-back still shows licence ${licence} assigned`, {
              systemId: c.systemId,
            });
          }
          return {
            result: { outcome: 'reclaimed', accountId: account.id, at: new Date().toISOString() },
            detail: { licence, assignment: r.outcome === 'changed' ? 'removed' : 'not_assigned' },
            readBack: { found: true, accountId: account.id, active: account.active, licences: held },
          };
        }
        if (account.active) {
          throw new ConnectorError('transient', `account ${account.id} is still active; its seat is not free yet`, {
            systemId: c.systemId,
          });
        }
        return {
          result: { outcome: 'released_with_account', accountId: account.id, at: new Date().toISOString() },
          detail: { licence },
          readBack: { found: true, accountId: account.id, active: account.active },
        };
      });
    },

    /**
     * The leaver's data in a system goes to their manager through the vendor's transfer API (Google's Data Transfer
     * API), after the manager accepted it; the transfer is read back complete.
     */
    transferDataApi(input: StepInput): Promise<StepResult> {
      return step(input, 'transfer_data', async () => {
        const c = connector(input.systemId);
        if (!c.transferData) {
          throw ApplicationFailure.nonRetryable(`system "${input.systemId}" has no data transfer API`, 'config');
        }
        const account = await findAccount(c, input);
        if (!account) return noAccount();
        const managerHrId = input.record.managerHrId;
        const manager = managerHrId ? await c.findByHrKey(managerHrId) : undefined;
        if (!manager) {
          throw ApplicationFailure.nonRetryable(
            `the leaver's manager has no account in ${input.systemId} to receive the data`,
            'not_found',
          );
        }
        const r = await c.transferData(account.id, manager.id);
        return {
          result: { outcome: r.outcome, accountId: account.id, at: new Date().toISOString() },
          detail: { to: managerHrId, transferId: r.transferId, transferred: r.detail },
          readBack: { transferId: r.transferId, status: 'completed' },
        };
      });
    },

    /** Reads every system back: the evidence that no account of the leaver is active anywhere. */
    verifyExit(input: StepInput): Promise<StepResult> {
      return step(input, 'verify_exit', async () => {
        const systems: Record<string, { found: boolean; active?: boolean }> = {};
        for (const [systemId, c] of deps.connectors) {
          const a = await findAccount(c, input);
          systems[systemId] = a ? { found: true, active: a.active } : { found: false };
        }
        const stillActive = Object.entries(systems).filter(([, v]) => v.active);
        if (stillActive.length > 0) {
          throw ApplicationFailure.nonRetryable(
            `still active in ${stillActive.map(([k]) => k).join(', ')}`,
            'exit_incomplete',
          );
        }
        return {
          result: { outcome: 'verified_inactive', at: new Date().toISOString() },
          ...(input.summary ? { detail: { steps: input.summary } } : {}),
          readBack: { systems },
        };
      });
    },

    /** A welcome notice to the manager in Slack, found by the work email of their identity-provider account. */
    notifyManager(input: StepInput): Promise<StepResult> {
      return step(input, 'notify_manager', async () => {
        const slack = deps.slack;
        const managerHrId = input.record.managerHrId;
        if (!slack) throw ApplicationFailure.nonRetryable('no Slack configured', 'config');
        if (!managerHrId) return { result: { outcome: 'skipped', at: new Date().toISOString() } };
        const manager = await connector(idpId).findByHrKey(managerHrId);
        if (!manager) {
          throw ApplicationFailure.nonRetryable(`manager ${managerHrId} has no identity-provider account`, 'not_found');
        }
        const user = await slackCall('slack', () => slack.users.lookupByEmail({ email: manager.userName }));
        const channel = user.user?.id;
        if (!channel) throw ApplicationFailure.nonRetryable('Slack returned no user id for the manager', 'not_found');
        const name = displayName(input.record);
        const text = `${name.givenName} ${name.familyName} starts today (${input.record.title}, ${input.record.department}). Their accounts are active; sign-in: ${input.workEmail ?? ''}`;
        const posted = await slackCall('slack', () =>
          slack.chat.postMessage({
            channel,
            text,
            blocks: [
              { type: 'header', text: { type: 'plain_text', text: `Welcome ${name.givenName} to the team` } },
              { type: 'section', text: { type: 'mrkdwn', text } },
            ],
          }),
        );
        return {
          result: { outcome: 'notified', at: new Date().toISOString() },
          detail: { managerHrId, channel, ts: posted.ts },
        };
      });
    },
  };
}

export type TenureActivities = ReturnType<typeof createActivities>;
