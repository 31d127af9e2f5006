// Cancellation reaches every long loop of the engine: the nominal forward pass, the exact path
// (materialised blocks, Gram matrix), Lanczos, the per-layer tightness, the lower-bound search and the
// radius bisection. Deterministic, whatever the machine's speed: a signal that counts its polls and
// records the operator applications done so far shows (1) that no stretch of the analysis applies more
// than a few operators between two polls, and (2) that a signal turning true at any poll stops the
// analysis at that very poll with a CancelledError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork, type AnalyzeOptions } from '../../src/engine/analyze';
import { CancelledError } from '../../src/engine/errors';
import { pureForward } from '../../src/engine/forward';
import type { Network } from '../../src/engine/network';
import type { OperatorCounters } from '../../src/engine/operators/countingOperator';
import { SeededRandom } from '../../src/engine/random';
import { randomConvNetwork } from './helpers/engineRandomNetworks';

/** aborted turns true at poll number flipAt + 1; every poll records the operator applications so far. */
class CountingSignal {
  polls = 0;
  readonly applicationsAtPoll: number[] = [];
  counters: OperatorCounters | undefined;
  constructor(private readonly flipAt = Number.POSITIVE_INFINITY) {}
  get aborted(): boolean {
    this.polls++;
    this.applicationsAtPoll.push(this.counters?.applications ?? 0);
    return this.polls > this.flipAt;
  }
}

function run(network: Network, options: Omit<AnalyzeOptions, 'epsilons'>, signal: CountingSignal) {
  const x0 = Float64Array.from({ length: network.inputShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1));
  return analyzeNetwork(network, x0, {
    ...options,
    epsilons: [0.05, 0.5],
    radius: true,
    backend: 'typescript',
    lowerBound: { layers: true },
    // Hands the prepared network's operation counters to the signal.
    forward: (prepared, x, s) => {
      signal.counters = prepared.counters;
      return pureForward(prepared, x, s);
    },
  }, { signal });
}

const network = randomConvNetwork(new SeededRandom(7)).network;
// The exact path (blocks of up to 512 columns) and the Lanczos path (cutoff 2).
const CONFIGURATIONS: [string, Omit<AnalyzeOptions, 'epsilons'>][] = [['exact', {}], ['lanczos', { exactCutoff: 2 }]];

describe('cancellation', () => {
  for (const [name, options] of CONFIGURATIONS) {
    it(`${name} path: at most a few operator applications between two polls, from start to end`, async () => {
      const signal = new CountingSignal();
      const result = await run(network, options, signal);
      const total = signal.counters!.applications;
      assert.ok(result.radius && result.runs.every((r) => r.lowerBound), 'every phase ran');
      const marks = [0, ...signal.applicationsAtPoll, total];
      const gaps = marks.slice(1).map((m, i) => m - marks[i]);
      // A Lanczos step is one Gram product (2 applications); a forward layer, a block column, a
      // tape pass layer apply one or two operators each; a layer's row norms come right after its poll.
      assert.ok(Math.max(...gaps) <= 4, `largest gap ${Math.max(...gaps)} applications (of ${total}, ${signal.polls} polls)`);
      assert.ok(signal.polls > 100, `${signal.polls} polls`);
    });

    it(`${name} path: a signal turning true at any poll stops the analysis at that poll`, async () => {
      const full = new CountingSignal();
      await run(network, options, full);
      const polls = full.polls;
      // Twelve polls spread over the run and the last two: the forward pass comes first, the radius bisection last.
      const flipPoints = [...Array.from({ length: 12 }, (_, i) => Math.floor((i * polls) / 12)), polls - 2, polls - 1];
      for (const flipAt of flipPoints) {
        const signal = new CountingSignal(flipAt);
        await assert.rejects(run(network, options, signal), CancelledError, `flip at ${flipAt}`);
        assert.equal(signal.polls, flipAt + 1, `flip at poll ${flipAt}: nothing polls again after the signal turned true`);
        assert.ok(signal.counters!.applications <= (full.applicationsAtPoll[flipAt] ?? Infinity), `flip at ${flipAt}: no work past the poll`);
      }
    });
  }
});
