import assert from 'node:assert/strict';
import {
  applyHeapGrowth,
  WORKER_TUNING_DEFAULTS,
  WORKER_TUNING_VARIABLES,
  workerOptions,
  workerTuning,
} from '../../src/app/worker-tuning';

describe('worker tuning from the environment (docs/scaling.md)', () => {
  it('defaults: a cache sized for busy runs, not for waiting people; half the workflow polls on the task queue', () => {
    const t = workerTuning({});
    assert.deepEqual(t, WORKER_TUNING_DEFAULTS);
    assert.equal(t.maxCachedWorkflows, 150);
    assert.equal(t.nonStickyToStickyPollRatio, 0.5);
    assert.equal(t.reuseV8Context, true);
    assert.equal(t.heapGrowingPercent, 50);
  });

  it("the heap's growth is the process's V8 flag, not an SDK worker option; 0 leaves V8's own", () => {
    const t = workerTuning({ TENURE_WORKER_HEAP_GROWING_PERCENT: '0' });
    assert.equal(t.heapGrowingPercent, 0);
    assert.equal(applyHeapGrowth(t), undefined);
    assert.ok(!('heapGrowingPercent' in workerOptions(WORKER_TUNING_DEFAULTS)));
    assert.equal(workerOptions(WORKER_TUNING_DEFAULTS).maxCachedWorkflows, 150);
    // The mocha process already runs workers composed with the default, so setting it again changes nothing.
    assert.equal(applyHeapGrowth(WORKER_TUNING_DEFAULTS), '--heap-growing-percent=50');
    assert.ok(WORKER_TUNING_VARIABLES.includes('TENURE_WORKER_HEAP_GROWING_PERCENT'));
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
          TENURE_WORKER_HEAP_GROWING_PERCENT: '-5',
        }),
      (err: Error) =>
        /TENURE_WORKER_MAX_CACHED_WORKFLOWS/.test(err.message) &&
        /TENURE_WORKER_NON_STICKY_RATIO/.test(err.message) &&
        /TENURE_WORKER_REUSE_V8_CONTEXT/.test(err.message) &&
        /TENURE_WORKER_HEAP_GROWING_PERCENT/.test(err.message),
    );
    assert.throws(() => workerTuning({ TENURE_WORKER_NON_STICKY_RATIO: '1.5' }), /NON_STICKY_RATIO/);
  });
});
