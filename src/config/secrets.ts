/**
 * Shared secrets (the HR webhook's, Slack's signing secret) must be hard to guess, not only long: sixteen spaces
 * or "passwordpassword" pass a length check. Strength is estimated from the text itself — its length times the
 * Shannon entropy of its character distribution — which a random secret of the usual forms passes by far
 * (`openssl rand -hex 32`: ~250 bits; Slack's 32 hex digits: ~120) and repeated or dictionary-like text fails.
 */
import { z } from 'zod';

/** Estimated bits a secret must carry. @default 64 */
export const MIN_SECRET_BITS = 64;
/** Fewest distinct characters. */
export const MIN_DISTINCT_CHARACTERS = 8;

/** Length × Shannon entropy (bits per character) of the text's own character distribution. */
export function estimatedSecretBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}

/** Why a secret is too weak, or undefined when it is strong enough. */
export function weakSecretReason(secret: string): string | undefined {
  if ([...secret].length < 16) return 'must be at least 16 characters';
  if (secret.trim() !== secret) return 'must not start or end with white space';
  if (new Set(secret).size < MIN_DISTINCT_CHARACTERS) {
    return `is too predictable: fewer than ${MIN_DISTINCT_CHARACTERS} different characters; make one with \`openssl rand -hex 32\``;
  }
  const bits = estimatedSecretBits(secret);
  if (bits < MIN_SECRET_BITS) {
    return `is too predictable (about ${Math.floor(bits)} bits, at least ${MIN_SECRET_BITS} needed); make one with \`openssl rand -hex 32\``;
  }
  return undefined;
}

/** A zod string that refuses weak secrets, naming why (never echoing the value). */
export const strongSecretSchema = z.string().superRefine((s, ctx) => {
  const reason = weakSecretReason(s);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
});
