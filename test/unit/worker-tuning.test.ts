import assert from 'node:assert/strict';
import { WORKER_TUNING_DEFAULTS, WORKER_TUNING_VARIABLES, workerTuning } from '../../src/app/worker-tuning';

describe('worker tuning from the environment (docs/scaling.md)', () => {
  it('defaults: a cache sized for busy runs, not for waiting people; half the workflow polls on the task queue', () => {
    const t = workerTuning({});
    assert.deepEqual(t, WORKER_TUNING_DEFAULTS);
    assert.equal(t.maxCachedWorkflows, 150);
    assert.equal(t.nonStickyToStickyPollRatio, 0.5);
    assert.equal(t.reuseV8Context, true);
  });

  it('every variable overrides its value', () => {
    const t = workerTuning({
      TENURE_WORKER_MAX_CACHED_WORKFLOWS: '40',
      TENURE_WORKER_NON_STICKY_RATIO: '1',
      TENURE_WORKER_REUSE_V8_CONTEXT: 'false',
      TENURE_WORKER_WORKFLOW_SLOTS: '8',
      TENURE_WORKER_WORKFLOW_POLLS: '4',
      TENURE_WORKER_WORKFLOW_THREADS: '2',
    });
    assert.equal(t.workflowThreadPoolSize, 2);
    assert.equal(t.maxCachedWorkflows, 40);
    assert.equal(t.nonStickyToStickyPollRatio, 1);
    assert.equal(t.reuseV8Context, false);
    assert.equal(t.maxConcurrentWorkflowTaskExecutions, 8);
    assert.equal(t.maxConcurrentWorkflowTaskPolls, 4);
    assert.ok(WORKER_TUNING_VARIABLES.includes('TENURE_WORKER_NON_STICKY_RATIO'));
  });

  it('refuses bad values, naming each variable', () => {
    assert.throws(
      () =>
        workerTuning({
          TENURE_WORKER_MAX_CACHED_WORKFLOWS: 'lots',
          TENURE_WORKER_NON_STICKY_RATIO: '0',
          TENURE_WORKER_REUSE_V8_CONTEXT: 'yes',
        }),
      (err: Error) =>
        /TENURE_WORKER_MAX_CACHED_WORKFLOWS/.test(err.message) &&
        /TENURE_WORKER_NON_STICKY_RATIO/.test(err.message) &&
        /TENURE_WORKER_REUSE_V8_CONTEXT/.test(err.message),
    );
    assert.throws(() => workerTuning({ TENURE_WORKER_NON_STICKY_RATIO: '1.5' }), /NON_STICKY_RATIO/);
  });
});
