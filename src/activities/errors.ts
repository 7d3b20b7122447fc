import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError } from './identity';

/**
 * Turns a connector error into what Temporal should do with it: retry (honouring Retry-After as the next
 * retry delay) or stop retrying and surface the step as failed. Unknown errors are retried.
 */
export function toActivityFailure(err: unknown): Error {
  if (!(err instanceof ConnectorError)) return err instanceof Error ? err : new Error(String(err));
  if (err.type === 'rate_limited') {
    return ApplicationFailure.create({
      type: 'rate_limited',
      message: err.message,
      nextRetryDelay: err.details.retryAfterMs,
    });
  }
  return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: !err.retryable });
}
