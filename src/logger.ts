import pino from 'pino';

/**
 * Structured JSON logs. Secrets and personal data are redacted by path wherever they appear;
 * code should not log records at all — this is the second line of defence.
 */
export const REDACT_PATHS = [
  'secret',
  'token',
  'authorization',
  'headers.authorization',
  'record',
  '*.record',
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'preferredLastName',
  'personalEmail',
  'workEmail',
  '*.personalEmail',
  '*.workEmail',
];

export function createLogger(name: string, level = process.env.TENURE_LOG_LEVEL ?? 'info'): pino.Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type Logger = pino.Logger;
