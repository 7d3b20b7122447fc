/**
 * How the `tenure` CLI reaches a deployment, through the composition root: the environment (with `npm start`'s
 * local secrets file as its lowest layer, so the CLI works next to a local Tenure with nothing exported), the
 * Temporal connection settings and payload keys, and the intake's URL and webhook secret.
 */
import type { Client } from '@temporalio/client';
import { dataConverter, loadKeyRing } from '../codec';
import { TenureClient } from '../client/tenure-client';
import { readDevEnv } from '../config/local-env';
import { withClient } from './compose';
import { temporalSettings } from './settings';

/** The CLI's environment: the process's variables over the local secrets file. */
export function cliVars(): NodeJS.ProcessEnv {
  return { ...readDevEnv(), ...process.env };
}

/** Runs `fn` with a client of the deployment (address, TLS, API key, namespace, payload keys from the environment). */
export function withCliClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const vars = cliVars();
  // Keys from the environment, or the dev keys `npm start` made; no key is an error, never plaintext.
  return withClient({ temporal: temporalSettings(vars), converter: dataConverter(loadKeyRing(vars)) }, fn);
}

/** A signed-webhook client of the intake: `TENURE_INTAKE_URL` (default the local one) and `TENURE_WEBHOOK_SECRET`. */
export function intakeSender(): TenureClient {
  const vars = cliVars();
  const secret = vars.TENURE_WEBHOOK_SECRET;
  if (!secret) throw new Error('TENURE_WEBHOOK_SECRET is not set (and no .data/dev.env from `npm start`)');
  return new TenureClient({ url: vars.TENURE_INTAKE_URL ?? 'http://127.0.0.1:8080', secret });
}
