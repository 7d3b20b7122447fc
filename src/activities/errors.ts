import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError } from './identity';
import { redactError, redactPersonalData } from './redact';

/**
 * Turns a connector error into what Temporal should do with it: retry (honouring Retry-After as the next
 * retry delay) or stop retrying and surface the step as failed. Unknown errors are retried. Every message leaves
 * here redacted (no e-mail addresses), with the connector's structured facts (system, status, scimType, vendor
 * code) as the failure's details, so logs, evidence and histories carry codes rather than vendor text.
 */
export function toActivityFailure(err: unknown): Error {
  if (!(err instanceof ConnectorError)) {
    return err instanceof Error ? redactError(err) : new Error(redactPersonalData(String(err)));
  }
  const message = redactPersonalData(err.message);
  const details = [{ ...err.details }];
  if (err.type === 'rate_limited') {
    return ApplicationFailure.create({
      type: 'rate_limited',
      message,
      details,
      nextRetryDelay: err.details.retryAfterMs,
    });
  }
  return ApplicationFailure.create({ type: err.type, message, details, nonRetryable: !err.retryable });
}
