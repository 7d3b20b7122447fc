import type { ConformanceFactory } from './types';

/** The graph connector against its peer. Placeholder: undefined until the connector is built. */
export const graphTarget: ConformanceFactory | undefined = undefined;
