'use strict';
// Mocha's spec reporter plus one plain closing line, "tests: N passed, N failed", that CI tooling reads.
const Mocha = require('mocha');

class TenureReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`\ntests: ${s.passes || 0} passed, ${s.failures || 0} failed${skipped}\n`);
    });
  }
}

module.exports = TenureReporter;
