import type { ConformanceFactory } from './types';

/** The google connector against its peer. Placeholder: undefined until the connector is built. */
export const googleTarget: ConformanceFactory | undefined = undefined;
