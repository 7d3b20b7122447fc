import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { dataConverter, loadKeyRing } from '../../src/codec';
import { REPLAY_CODEC_KEYS, workflowBundle } from '../helpers/temporal';

const DIR = join(__dirname, 'histories');

/**
 * Determinism guard: histories recorded from earlier versions (scripts/record-histories.ts) replay against
 * today's workflow code. A change to a deployed workflow's commands that is not behind `patched()` fails here.
 */
describe('replay: saved histories replay against the current workflow code', function () {
  this.timeout(120_000);

  it('replays every saved history without a nondeterminism error', async () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 3, 'saved histories are present');
    const histories = files.map((f) => {
      const { workflowId, history } = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as {
        workflowId: string;
        history: unknown;
      };
      return { workflowId, history };
    });
    // Histories recorded since payload encryption carry encrypted payloads, under the fixture key.
    const results = Worker.runReplayHistories(
      {
        workflowBundle: await workflowBundle(),
        dataConverter: dataConverter(loadKeyRing({ TENURE_CODEC_KEYS: REPLAY_CODEC_KEYS })),
      },
      histories,
    );
    let count = 0;
    for await (const r of results) {
      count += 1;
      assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
    }
    assert.equal(count, files.length);
  });
});
