/**
 * Generates docs/webhook.schema.json, the JSON Schema of Tenure's generic webhook body, from the zod schema
 * the intake server validates with (`webhookEventSchema` in src/domain/employee.ts). A unit test
 * (test/unit/webhook-schema.test.ts) fails when the committed file and the zod schema drift apart.
 *
 *   node -r tsx/cjs scripts/gen-webhook-schema.ts          # write docs/webhook.schema.json
 *   node -r tsx/cjs scripts/gen-webhook-schema.ts --check  # exit 1 if it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { webhookEventSchema } from '../src/domain/employee';

export const WEBHOOK_SCHEMA_PATH = join(__dirname, '..', 'docs', 'webhook.schema.json');

type Json = Record<string, unknown>;

/** The JSON Schema (draft 2020-12) of the webhook body, with what zod refinements check spelled out. */
export function buildWebhookJsonSchema(): Json {
  const generated = z.toJSONSchema(webhookEventSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
  }) as Json;
  const properties = generated.properties as Record<string, Json>;
  const record = properties.record as Json;
  const location = (record.properties as Record<string, Json>).location as Json;
  // Unknown fields are allowed by the schema: the server ignores them and names them in `ignoredFields`, or refuses
  // them when its policy says `intake.unknownFields: refuse`. Said explicitly, not left to a validator's default.
  for (const object of [generated, record, location]) object.additionalProperties = true;
  // The refinement "needs personalEmail or workEmail", which zod cannot export, as JSON Schema can say it.
  record.anyOf = [{ required: ['personalEmail'] }, { required: ['workEmail'] }];
  const timeZone = (location.properties as Record<string, Json>).timeZone as Json;
  timeZone.description = 'IANA time zone name, e.g. "Europe/Lisbon"; checked against the server\'s time zone database.';
  return {
    $schema: generated.$schema,
    $id: 'urn:tenure:schema:webhook-event:v1',
    title: 'Tenure generic HR webhook event',
    description:
      'Body of POST /webhooks/hr. Generated from webhookEventSchema (src/domain/employee.ts) by ' +
      'scripts/gen-webhook-schema.ts; do not edit by hand. Beyond this schema the server checks that dates ' +
      'exist on the calendar and that timeZone is a known IANA zone. Fields not named here are ignored and named ' +
      "in the answer's ignoredFields, or refused when the server's policy sets intake.unknownFields: refuse. " +
      'See docs/webhook.md.',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  };
}

/** The file's text: the schema formatted as the repository's prettier config formats JSON. */
export async function renderWebhookJsonSchema(): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(WEBHOOK_SCHEMA_PATH)) ?? {};
  return prettier.format(JSON.stringify(buildWebhookJsonSchema()), { ...options, parser: 'json' });
}

async function main(): Promise<void> {
  const text = await renderWebhookJsonSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(WEBHOOK_SCHEMA_PATH, 'utf8');
    if (current !== text) {
      process.stderr.write(
        'docs/webhook.schema.json is out of date: run node -r tsx/cjs scripts/gen-webhook-schema.ts\n',
      );
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(WEBHOOK_SCHEMA_PATH, text);
  process.stdout.write(`wrote ${WEBHOOK_SCHEMA_PATH}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
