/**
 * A typed BambooHR REST client: read an employee, write back the work email. Every failure is a classified
 * `ConnectorError` (see `transport.ts`); retries are left to the caller (Temporal, or BambooHR's webhook retries).
 */
import { z } from 'zod';
import type { HrisConnector } from '../../hris-connector';
import { ConnectorError } from '../../identity';
import { bambooRequest, type BambooTransportConfig } from './transport';

/** BambooHR's documented API base for a company: `https://api.bamboohr.com/api/gateway.php/<company>/v1`. */
export function bambooBaseUrl(companyDomain: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(companyDomain)) {
    throw new RangeError(
      'BambooHR company domain must be letters, digits and "-" (the <company> of <company>.bamboohr.com)',
    );
  }
  return `https://api.bamboohr.com/api/gateway.php/${companyDomain}/v1`;
}

export interface BambooClientOptions {
  /** API key (Basic-auth user name; the password is "x"). Read it from the environment; never log it. */
  apiKey: string;
  /** Full API base URL; wins over `companyDomain` (a stand-in's URL in tests). */
  baseUrl?: string;
  /** The `<company>` of `<company>.bamboohr.com`, when `baseUrl` is not given. */
  companyDomain?: string;
  /** @default 10000 */
  timeoutMs?: number;
  /** @default "bamboohr" */
  systemId?: string;
}

/** An employee as BambooHR returns it: the requested fields, strings or null. */
export type BambooEmployee = Record<string, string | null> & { id: string };

const employeeSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .transform((fields) =>
    Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, v === null ? null : typeof v === 'string' ? v : String(v)]),
    ),
  );

/** BambooHR employee ids are numbers; anything else never reaches the URL. */
const EMPLOYEE_ID = /^\d{1,18}$/;
/** BambooHR field names (aliases) as the API takes them, e.g. `workEmail`, `customShirtSize`, `4001`. */
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export class BambooClient implements HrisConnector {
  readonly name = 'bamboohr';
  readonly systemId: string;
  private readonly transport: BambooTransportConfig;

  constructor(options: BambooClientOptions) {
    const baseUrl =
      options.baseUrl ?? (options.companyDomain !== undefined ? bambooBaseUrl(options.companyDomain) : undefined);
    if (baseUrl === undefined) throw new RangeError('BambooClient needs baseUrl or companyDomain');
    if (!options.apiKey) throw new RangeError('BambooClient needs an API key');
    this.systemId = options.systemId ?? 'bamboohr';
    this.transport = {
      systemId: this.systemId,
      baseUrl,
      apiKey: options.apiKey,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
  }

  /** `GET /employees/{id}/?fields=…` with `Accept: application/json`: the fields asked for, plus `id`. */
  async getEmployee(id: string, fields: readonly string[]): Promise<BambooEmployee> {
    this.checkId(id);
    const bad = fields.find((f) => !FIELD_NAME.test(f));
    if (bad !== undefined || fields.length === 0) {
      throw new ConnectorError('invalid_request', `${this.systemId}: bad field list for GET /employees/{id}/`, {
        systemId: this.systemId,
      });
    }
    const response = await bambooRequest(this.transport, {
      method: 'GET',
      path: `/employees/${id}/`,
      query: { fields: fields.join(',') },
    });
    const parsed = employeeSchema.safeParse(response.body);
    if (!parsed.success) {
      throw new ConnectorError('invalid_request', `${this.systemId}: GET /employees/{id}/ did not return an employee`, {
        systemId: this.systemId,
        status: response.status,
      });
    }
    return { ...parsed.data, id: parsed.data.id ?? id };
  }

  /** `POST /employees/{id}/` with `{ workEmail }`: the write-back of the work email Tenure generated. */
  async updateWorkEmail(id: string, workEmail: string): Promise<void> {
    this.checkId(id);
    if (!z.email().safeParse(workEmail).success) {
      throw new ConnectorError('invalid_request', `${this.systemId}: work email is not an email address`, {
        systemId: this.systemId,
      });
    }
    await bambooRequest(this.transport, { method: 'POST', path: `/employees/${id}/`, body: { workEmail } });
  }

  /** `HrisConnector`: the work-email write-back. Tenure's `hrId` for a BambooHR person is the employee id. */
  writeWorkEmail(hrId: string, workEmail: string): Promise<void> {
    return this.updateWorkEmail(hrId, workEmail);
  }

  private checkId(id: string): void {
    if (!EMPLOYEE_ID.test(id)) {
      throw new ConnectorError('invalid_request', `${this.systemId}: BambooHR employee ids are numbers`, {
        systemId: this.systemId,
      });
    }
  }
}

/**
 * The `hrisFactory` for `buildIntegrations` (src/activities/connectors.ts): the policy's `hris` block
 * (`type: bamboohr`, `baseUrl`) and the API key read from `apiKeyEnv`.
 */
export function createBambooHrisConnector(
  config: { type: 'bamboohr'; baseUrl: string },
  apiKey: string,
  timeoutMs?: number,
): BambooClient {
  return new BambooClient({ baseUrl: config.baseUrl, apiKey, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}
