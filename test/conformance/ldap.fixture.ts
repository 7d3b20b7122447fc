import type { ConformanceFactory } from './types';

/** The ldap connector against its peer. Placeholder: undefined until the connector is built. */
export const ldapTarget: ConformanceFactory | undefined = undefined;
