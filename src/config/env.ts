import { z } from 'zod';
import { TASK_QUEUE } from '../domain/ids';
import { strongSecretSchema } from './secrets';

const port = z.coerce.number().int().min(0).max(65535);

export const envSchema = z.object({
  /** @default "localhost:7233" */
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  /** @default "default" */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** @default "tenure" */
  TENURE_TASK_QUEUE: z.string().min(1).default(TASK_QUEUE),
  /** Path of the policy YAML. @default "config/tenure.dev.yaml" */
  TENURE_POLICY: z.string().min(1).default('config/tenure.dev.yaml'),
  /** @default 8080 */
  TENURE_INTAKE_PORT: port.default(8080),
  /** @default "127.0.0.1" */
  TENURE_INTAKE_HOST: z.string().min(1).default('127.0.0.1'),
  /** Most event webhooks the intake delivers at once; more wait (docs/webhook.md, "Bursts"). @default 200 */
  TENURE_INTAKE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(200),
  /** Milliseconds a webhook waits for room before it is answered 503 with Retry-After. @default 10000 */
  TENURE_INTAKE_MAX_WAIT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** The answer time the intake's limit aims at: it admits what it answers in this time at the current pace. @default 5000 */
  TENURE_INTAKE_TARGET_LATENCY_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /** Postgres for the audit store (secret: never logged); unset means the embedded store in the data folder. */
  DATABASE_URL: z.string().min(1).optional(),
  /** Bearer token of the codec endpoint, and the key of its Web UI sessions (secret). Unset: no codec endpoint. */
  TENURE_CODEC_TOKEN: z
    .string()
    .min(32, { message: 'must be at least 32 characters' })
    .regex(/^[A-Za-z0-9_-]+$/, {
      message: 'must be URL-safe (A-Z a-z 0-9 _ -), e.g. `openssl rand -base64 32 | tr "+/" "-_" | tr -d =`',
    })
    .optional(),
  /** Browser origins of the Temporal Web UI allowed to call the codec endpoint, comma-separated. */
  TENURE_UI_ORIGINS: z.string().default('http://localhost:8233,http://127.0.0.1:8233'),
  /** Slack app signing secret for the interactivity endpoint (secret). Unset: no Slack buttons. */
  TENURE_SLACK_SIGNING_SECRET: strongSecretSchema.optional(),
  /** Shared secret of the generic HR webhook (secret: never logged). Required by the intake and `tenure send`. */
  TENURE_WEBHOOK_SECRET: strongSecretSchema.optional(),
  /** Port of Tenure's own Prometheus `/metrics` (worker and intake). Unset: no metrics server. */
  TENURE_METRICS_PORT: port.optional(),
  /** Port of the Temporal SDK's Prometheus exporter in the worker. Unset: SDK metrics off. */
  TENURE_SDK_METRICS_PORT: port.optional(),
  /** Host the metrics servers bind to. @default "127.0.0.1" */
  TENURE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Express `trust proxy` for the intake behind a load balancer: "true", a hop count or a subnet list. */
  TENURE_TRUST_PROXY: z.string().min(1).optional(),
  /** Worker identity shown in the Web UI. @default "<pid>@<hostname>" (the SDK's) */
  TENURE_WORKER_IDENTITY: z.string().min(1).optional(),
});

export type TenureEnv = z.infer<typeof envSchema>;

/** Reads and validates the environment once, at process start; the error names every bad variable. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): TenureEnv {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
