/** Path the worker bundles workflow code from (the worker itself is built in src/app/compose.ts). */
export const WORKFLOWS_PATH = require.resolve('../workflows');
