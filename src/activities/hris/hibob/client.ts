/**
 * A typed HiBob People API client: the whole roster (`POST /people/search`) and one employee (the same search,
 * filtered on `/root/id`). HiBob documents no paging for people search: one answer holds every employee the
 * service user may see. Every failure is a classified `ConnectorError` (see `transport.ts`); no retries here.
 */
import { z } from 'zod';
import { ConnectorError } from '../../identity';
import { HIBOB_PEOPLE_FIELDS, type HibobEmployee } from './mapping';
import { hibobRequest, type HibobTransportConfig } from './transport';

export interface HibobClientOptions {
  /** @default https://api.hibob.com/v1 */
  baseUrl: string;
  serviceUserId: string;
  token: string;
  /** @default 30000 */
  timeoutMs?: number;
  /** @default "hibob" */
  systemId?: string;
}

const searchAnswer = z.object({ employees: z.array(z.record(z.string(), z.unknown())) });

/** HiBob backend ids (and the stand-in's): digits, letters, `.`, `_`, `-`. Anything else never leaves Tenure. */
const EMPLOYEE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface HibobSearchOptions {
  /** Include terminated and former employees (HiBob's default is active only). @default true */
  showInactive?: boolean;
  /** Only these backend ids (a `/root/id` `equals` filter). */
  ids?: string[];
}

export class HibobClient {
  readonly systemId: string;
  private readonly transport: HibobTransportConfig;

  constructor(o: HibobClientOptions) {
    if (!o.serviceUserId || !o.token) throw new RangeError('HibobClient needs a service user id and token');
    this.systemId = o.systemId ?? 'hibob';
    this.transport = {
      systemId: this.systemId,
      baseUrl: o.baseUrl,
      serviceUserId: o.serviceUserId,
      token: o.token,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    };
  }

  /** `POST /people/search` with Tenure's fields and `humanReadable: "APPEND"`. */
  async searchPeople(opts: HibobSearchOptions = {}): Promise<HibobEmployee[]> {
    const body: Record<string, unknown> = {
      fields: [...HIBOB_PEOPLE_FIELDS],
      showInactive: opts.showInactive ?? true,
      humanReadable: 'APPEND',
    };
    if (opts.ids !== undefined) {
      if (opts.ids.length === 0) return [];
      if (opts.ids.some((id) => !EMPLOYEE_ID.test(id))) {
        throw new ConnectorError('invalid_request', `${this.systemId}: HiBob employee ids are letters and digits`, {
          systemId: this.systemId,
        });
      }
      body.filters = [{ fieldPath: '/root/id', operator: 'equals', values: opts.ids }];
    }
    const res = await hibobRequest(this.transport, { method: 'POST', path: '/people/search', body });
    const parsed = searchAnswer.safeParse(res.body);
    if (!parsed.success) {
      throw new ConnectorError('invalid_request', `${this.systemId}: POST /people/search did not return employees`, {
        systemId: this.systemId,
        status: res.status,
      });
    }
    return parsed.data.employees;
  }

  /** One employee by backend id, active or not; `undefined` when HiBob has none (deleted, or not visible). */
  async getEmployee(id: string): Promise<HibobEmployee | undefined> {
    const found = await this.searchPeople({ ids: [id], showInactive: true });
    return found.find((e) => String(e.id) === id);
  }
}
