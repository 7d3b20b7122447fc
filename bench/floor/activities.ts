/**
 * The floor's activities: the least a hire's account needs, and nothing Tenure adds: one SCIM `POST /Users` (an
 * account created active) to the system's stand-in and one audit row in PostgreSQL. No lookup first, no evidence
 * chain, no retries of our own, no redaction.
 */
import { Pool } from 'pg';

export interface FloorAccountInput {
  /** The system's SCIM base URL (ends in `/scim/v2`). */
  url: string;
  system: string;
  person: string;
}

let pool: Pool | undefined;

function audit(): Pool {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) throw new Error('BENCH_DATABASE_URL is required');
  pool ??= new Pool({ connectionString: url, max: 10 });
  return pool;
}

export async function createFloorAccount(input: FloorAccountInput): Promise<string> {
  const res = await fetch(`${input.url}/Users`, {
    method: 'POST',
    headers: { 'content-type': 'application/scim+json' },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: `${input.person}@floor.example`,
      externalId: input.person,
      active: true,
      name: { givenName: 'Floor', familyName: input.person },
    }),
  });
  if (res.status !== 201) throw new Error(`${input.system}: POST /Users answered ${res.status}`);
  const { id } = (await res.json()) as { id: string };
  await audit().query('INSERT INTO floor_audit (person, system, account) VALUES ($1, $2, $3)', [
    input.person,
    input.system,
    id,
  ]);
  return id;
}

export async function closeFloorActivities(): Promise<void> {
  await pool?.end();
}
