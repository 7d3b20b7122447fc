import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WEBHOOK_SCHEMA_PATH, buildWebhookJsonSchema, renderWebhookJsonSchema } from '../../scripts/gen-webhook-schema';
import { hrEventKinds } from '../../src/domain/employee';

describe('docs/webhook.schema.json: the public contract of the generic webhook', () => {
  const committed = JSON.parse(readFileSync(WEBHOOK_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;

  it('equals the schema generated from the zod schema the intake validates with (regenerate: scripts/gen-webhook-schema.ts)', () => {
    assert.deepEqual(committed, buildWebhookJsonSchema());
  });

  it('is committed exactly as the generator formats it', async () => {
    assert.equal(readFileSync(WEBHOOK_SCHEMA_PATH, 'utf8'), await renderWebhookJsonSchema());
  });

  it('describes the body the intake server takes', () => {
    const schema = buildWebhookJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: {
        kind: { enum: string[] };
        record: {
          required: string[];
          anyOf: unknown[];
          additionalProperties: boolean;
          properties: { location: { additionalProperties: boolean } };
        };
      };
    };
    assert.deepEqual(schema.required, ['eventId', 'kind', 'record']);
    // Unknown fields are ignored by default (or refused by policy), so the schema allows them at every level.
    assert.equal(schema.additionalProperties, true);
    assert.equal(schema.properties.record.additionalProperties, true);
    assert.equal(schema.properties.record.properties.location.additionalProperties, true);
    assert.deepEqual(schema.properties.kind.enum, [...hrEventKinds]);
    assert.ok(schema.properties.record.required.includes('hireDate'));
    assert.deepEqual(schema.properties.record.anyOf, [{ required: ['personalEmail'] }, { required: ['workEmail'] }]);
  });
});
