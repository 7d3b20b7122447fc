/** Reading a validated policy: pure and free of zod, so workflow code (through src/domain/plan.ts) can use it. */
import type { Policy, SystemConfig } from './policy';

/** The policy's identity provider (validation guarantees exactly one). */
export function identityProvider(policy: Policy): SystemConfig {
  const idp = policy.systems.find((s) => s.kind === 'identity-provider');
  if (!idp) throw new Error('policy has no identity provider'); // unreachable after validation
  return idp;
}
