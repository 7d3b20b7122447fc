import assert from 'node:assert/strict';
import { workflowBundle } from '../helpers/temporal';

/**
 * Workflow code stays light (DESIGN §4, issue 15): schemas are validated at the edges, so zod and the other heavy
 * or I/O modules never reach the workflow bundle that every cached run gets its own copy of.
 */
describe('the workflow bundle', function () {
  this.timeout(120_000);
  it('holds no zod, no I/O library and no Tenure code outside workflows and pure domain modules', async () => {
    const { code } = await workflowBundle();
    const packages = [
      ...new Set((code.match(/node_modules\/(@[a-z0-9-]+\/)?[a-z0-9.-]+/g) ?? []).map((m) => m.slice(13))),
    ];
    for (const banned of ['zod', 'pg', 'express', 'axios', 'pino', '@slack/web-api', 'yaml', '@electric-sql/pglite']) {
      assert.ok(!packages.includes(banned), `${banned} is in the workflow bundle (packages: ${packages.join(', ')})`);
    }
    const tenure = [...new Set(code.match(/\.\/src\/[a-z/-]+\.ts/g) ?? [])];
    assert.ok(tenure.length > 0, 'the bundle names its modules');
    for (const file of tenure) {
      assert.match(file, /^\.\/src\/(workflows|domain|codec\/failure-converter)/, `${file} is in the workflow bundle`);
    }
  });
});
