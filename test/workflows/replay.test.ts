import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { dataConverter, loadKeyRing } from '../../src/codec';
import { REPLAY_CODEC_KEYS, workflowBundle } from '../helpers/temporal';
import * as approval from '../../src/workflows/approval/approval';
import { CODE_LEVEL, CODE_LEVEL_MEMO, PATCH_LEVELS, levelIncludes } from '../../src/workflows/code-level';
import * as employee from '../../src/workflows/employee/employee';
import * as onboarding from '../../src/workflows/onboarding/onboarding';

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

  // src/workflows/code-level.ts: a start at a code level skips the markers of the patches it includes.
  describe('code levels', () => {
    type Saved = { workflowId: string; history: { events: Record<string, unknown>[] } };
    const load = (file: string): Saved => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Saved;
    /** The history as if its start had set the memo `tenureCodeLevel` to `level`. */
    const atLevel = (file: string, level: number): { workflowId: string; history: unknown } => {
      const h = load(file);
      const started = h.history.events[0]?.workflowExecutionStartedEventAttributes as Record<string, unknown>;
      assert.ok(started, `${file} begins with its start`);
      const b64 = (s: string): string => Buffer.from(s).toString('base64');
      started.memo = {
        fields: { [CODE_LEVEL_MEMO]: { metadata: { encoding: b64('json/plain') }, data: b64(String(level)) } },
      };
      return h;
    };
    const replay = async (h: { workflowId: string; history: unknown }): Promise<unknown> => {
      const results = Worker.runReplayHistories(
        {
          workflowBundle: await workflowBundle(),
          dataConverter: dataConverter(loadKeyRing({ TENURE_CODEC_KEYS: REPLAY_CODEC_KEYS })),
        },
        [h],
      );
      for await (const r of results) return r.error;
      throw new Error('no replay result');
    };
    const patchMarkers = (file: string): number =>
      load(file).history.events.filter(
        (e) => (e.markerRecordedEventAttributes as { markerName?: string } | undefined)?.markerName === 'core_patch',
      ).length;

    it('replays a run started at a level whose patch markers an older worker recorded', async () => {
      // A rolling deploy: the intake or a parent set the level, a worker from before code levels ran it first. Such a
      // worker takes the old path of every patch it lacks: at level 3 an entity carries a late hire out itself
      // (`tenure-inline-runs`), which these histories, from before it, never did. So: level 2, every patch but that.
      const level = 2;
      assert.equal(levelIncludes(level, 'tenure-inline-runs'), false);
      for (const file of ['employee-priority.json', 'onboarding-folded.json', 'approval-eligibility.json']) {
        assert.ok(patchMarkers(file) > 0, `${file} holds patch markers`);
        assert.equal(await replay(atLevel(file, level)), undefined, file);
      }
    });

    it('a worker older than the level a run was started at refuses it (the task fails, a newer worker takes it)', async () => {
      // The same history at this level replays (above): the level is what fails it. The failure's message is
      // encrypted by Tenure's failure converter, so the replay says only that the workflow task failed.
      const err = await replay(atLevel('employee-priority.json', CODE_LEVEL + 1));
      assert.match(String(err), /Replay failed due workflow task failure/);
    });

    it('every patch is registered, with a level no higher than the code level', () => {
      const patches = [...Object.entries(employee), ...Object.entries(onboarding), ...Object.entries(approval)].flatMap(
        ([k, v]) => (k.endsWith('_PATCH') && typeof v === 'string' ? [v] : []),
      );
      assert.ok(patches.length >= 11);
      for (const id of patches) {
        assert.ok(PATCH_LEVELS[id] !== undefined, `${id} has a level in PATCH_LEVELS`);
        assert.equal(levelIncludes(CODE_LEVEL, id), true, id);
        assert.equal(levelIncludes(0, id), false, `${id}: a start without a level asks patched()`);
      }
      assert.equal(CODE_LEVEL, Math.max(...Object.values(PATCH_LEVELS)));
      assert.equal(levelIncludes(CODE_LEVEL, 'a-patch-nobody-registered'), false);
    });
  });
});
