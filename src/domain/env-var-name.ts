import { z } from 'zod';

/** The NAME of an environment variable that holds a secret: policies never hold the secret itself. */
export const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
  message: 'must be the NAME of an environment variable (secrets never live in the policy)',
});
