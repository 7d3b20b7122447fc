/**
 * Failure messages and stack traces are encoded as a payload (and so encrypted by the codec), because a
 * message can quote personal data (a SCIM server's `detail` naming a userName). Loaded by path: the worker
 * bundles it into workflow code, clients require it.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
