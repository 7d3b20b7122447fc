import type { ConformanceFactory } from './types';

/** The okta connector against its peer. Placeholder: undefined until the connector is built. */
export const oktaTarget: ConformanceFactory | undefined = undefined;
