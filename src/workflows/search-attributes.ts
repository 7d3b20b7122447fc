/**
 * Tenure's typed search attributes (DESIGN §5). They are not encrypted: never put personal data here.
 * Registered on the dev server by `npm start` and the test harness (see `searchAttributeFlags`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const EMPLOYEE_ID = defineSearchAttributeKey('TenureEmployeeId', SearchAttributeType.KEYWORD);
export const EVENT_KIND = defineSearchAttributeKey('TenureEventKind', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('TenureStage', SearchAttributeType.KEYWORD);
export const WAITING_ON = defineSearchAttributeKey('TenureWaitingOn', SearchAttributeType.KEYWORD);
export const EFFECTIVE_AT = defineSearchAttributeKey('TenureEffectiveAt', SearchAttributeType.DATETIME);
export const DEPARTMENT = defineSearchAttributeKey('TenureDepartment', SearchAttributeType.KEYWORD);

export const TENURE_SEARCH_ATTRIBUTES = [EMPLOYEE_ID, EVENT_KIND, STAGE, WAITING_ON, EFFECTIVE_AT, DEPARTMENT];

const CLI_TYPE: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.DATETIME]: 'Datetime',
};

/** `--search-attribute NAME=Type` pairs for `temporal server start-dev` / `operator search-attribute create`. */
export function searchAttributeFlags(): string[] {
  return TENURE_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE[k.type] ?? 'Keyword'}`]);
}
