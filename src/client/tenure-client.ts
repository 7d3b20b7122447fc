import axios from 'axios';
import type { EmployeeRecord, HrEventKind } from '../domain/employee';
import type { HirePlanResult } from '../domain/plan-event';
import type { DeliverEventResult } from '../workflows/employee/messages';
import type { GuardedDelivery } from '../guard/types';
import { signTenureWebhook, TENURE_SIGNATURE_HEADER, TENURE_TIMESTAMP_HEADER } from './signature';

export interface TenureClientOptions {
  /** Base URL of the intake server, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The generic webhook's shared secret. */
  secret: string;
  /** @default 30000 */
  timeoutMs?: number;
  /** For `sendBatch`, which waits until every event was delivered or held. @default 600000 */
  batchTimeoutMs?: number;
  /**
   * `sendEvent` answered 503 `overloaded` (a burst: nothing of the request was read) is sent again after the
   * answer's `Retry-After`, up to this many times; then the 503 is returned. @default 5
   */
  overloadRetries?: number;
  /** Called before each such resend, with the wait (ms). */
  onOverloaded?: (waitMs: number) => void;
}

/** The wait a `Retry-After` header asks for (seconds, or an HTTP date), with up to a second of jitter; 1 s if absent. */
export function retryAfterMs(header: unknown, now = Date.now(), random = Math.random): number {
  const raw = typeof header === 'string' ? header.trim() : '';
  let ms = 1000;
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
  else if (raw !== '' && Number.isFinite(Date.parse(raw))) ms = Math.max(0, Date.parse(raw) - now);
  // Senders told the same Retry-After do not all come back in the same millisecond.
  return Math.min(ms, 300_000) + Math.floor(random() * 1000);
}

export interface SendBatchInput {
  /** Stable per file (its hash): sending the same batch again is the same batch. */
  batchId: string;
  /** @default "import" */
  path?: 'import' | 'sync';
  events: SendEventInput[];
}

export type SendBatchResult =
  | ({ status: number; outcome: 'delivered'; batchId: string } & GuardedDelivery)
  | { status: number; outcome: 'refused'; error: string; message: string; issues?: RefusalIssue[] };

export interface SendEventInput {
  eventId: string;
  kind: HrEventKind;
  record: EmployeeRecord;
}

/** Names of the event's fields Tenure does not know and ignored (`record.costCenter`); absent when there were none. */
export interface IgnoredFields {
  ignoredFields?: string[];
}

/** A field the server named in a refusal (`record.location.timeZone`), and what is wrong with it. */
export interface RefusalIssue {
  path: string;
  message: string;
}

/** What the intake server answered. */
export type SendEventResult =
  | ({ status: number } & DeliverEventResult & IgnoredFields)
  | { status: number; outcome: 'refused'; error: string; message: string; issues?: RefusalIssue[] };

/** Typed client for HR teams that integrate in code: signs and sends events to the intake server. */
export class TenureClient {
  constructor(private readonly opts: TenureClientOptions) {}

  async sendEvent(event: SendEventInput): Promise<SendEventResult> {
    let res = await this.post('/webhooks/hr', event);
    for (let retry = 0; retry < (this.opts.overloadRetries ?? 5) && isOverloaded(res); retry++) {
      const waitMs = retryAfterMs(res.headers['retry-after']);
      this.opts.onOverloaded?.(waitMs);
      await new Promise((r) => setTimeout(r, waitMs));
      res = await this.post('/webhooks/hr', event);
    }
    const data = res.data as Record<string, unknown>;
    if (res.status >= 400) {
      return {
        status: res.status,
        outcome: 'refused',
        error: String(data.error),
        message: String(data.message),
        ...(Array.isArray(data.issues) ? { issues: data.issues as RefusalIssue[] } : {}),
      };
    }
    return { status: res.status, ...(data as unknown as DeliverEventResult & IgnoredFields) };
  }

  /**
   * A whole roster as ONE batch for the mass-change guard (`POST /webhooks/hr/batch`, docs/webhook.md): what takes
   * access away past the policy's thresholds is held (status 202, `held: true`, `holdId`); the rest is delivered.
   */
  async sendBatch(batch: SendBatchInput): Promise<SendBatchResult> {
    const res = await this.post('/webhooks/hr/batch', batch, this.opts.batchTimeoutMs ?? 600_000);
    const data = res.data as Record<string, unknown>;
    if (res.status >= 400) {
      return {
        status: res.status,
        outcome: 'refused',
        error: String(data.error),
        message: String(data.message),
        ...(Array.isArray(data.issues) ? { issues: data.issues as RefusalIssue[] } : {}),
      };
    }
    return {
      status: res.status,
      outcome: 'delivered',
      batchId: batch.batchId,
      ...(data as unknown as GuardedDelivery),
    };
  }

  /** The plan a hire of this record would run under the server's policy — systems, groups, order, waits. Runs nothing. */
  async previewPlan(record: EmployeeRecord): Promise<HirePlanResult & IgnoredFields> {
    const res = await this.post('/webhooks/hr/plan', { record });
    const data = res.data as Record<string, unknown>;
    if (res.status >= 400) throw new Error(`plan preview refused (${res.status}): ${String(data.message)}`);
    return data as unknown as HirePlanResult & IgnoredFields;
  }

  private async post(
    path: string,
    payload: unknown,
    timeoutMs?: number,
  ): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    return axios.post(new URL(path, this.opts.url).toString(), body, {
      headers: {
        'content-type': 'application/json',
        [TENURE_TIMESTAMP_HEADER]: String(ts),
        [TENURE_SIGNATURE_HEADER]: signTenureWebhook(this.opts.secret, ts, body),
      },
      timeout: timeoutMs ?? this.opts.timeoutMs ?? 30_000,
      validateStatus: () => true,
    });
  }
}

function isOverloaded(res: { status: number; data: unknown }): boolean {
  return res.status === 503 && (res.data as { error?: unknown } | null)?.error === 'overloaded';
}
