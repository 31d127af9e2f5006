// The whole engine on the native backend and on its WebAssembly build: analyzeNetwork gives the bounds
// of the TypeScript backend on seeded random networks (dense, conv with pools, residual adds and
// concats, layout transposes), both in this process and against a child run with no compiled code at
// all (LIPSCHITZ_LENS_KERNELS=typescript: the spectral helpers in JS too); and no point sampled in the
// ε-ball exceeds the bound either backend reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeNetwork } from '../../src/engine/analyze';
import { kernelsFor, type OperatorBackend } from '../../src/engine/native/kernels';
import { NETWORK_INPUT } from '../../src/engine/network';
import { ConvOperator } from '../../src/engine/operators/conv';
import { DenseOperator } from '../../src/engine/operators/dense';
import { NativeConvOperator } from '../../src/engine/operators/nativeConv';
import { NativeDenseOperator } from '../../src/engine/operators/nativeDense';
import { createAffineOperator } from '../../src/engine/operators/registry';
import { prepareNetwork } from '../../src/engine/prepared';
import { SeededRandom } from '../../src/engine/random';
import { referenceForward } from './helpers/engineNetworks';
import { ENGINE_SEED, engineCases, LANCZOS_OPTIONS, runChild, summarize, type RunSummary } from './helpers/nativeCases';

/**
 * Both backends run the same computation from the same seeded starts; only the rounding of the operator
 * products differs (≈ 1e-15 relative). The exact path and the closed forms pass that through about
 * unchanged (measured ≤ 6e-15); a Lanczos run's largest Ritz value a little less so (measured ≤ 3e-11
 * when the runs go on past convergence). 1e-9 covers them with margin.
 */
const AGREEMENT = 1e-9;

/**
 * A Lanczos certificate's bound. The plain recurrence amplifies rounding differences once a Ritz value
 * has converged (the vectors lose orthogonality), and the a-posteriori bound reads the late α and β:
 * two runs of the same operator then certify slightly different bounds (measured 1e-8 to 6e-7 on a
 * 61-wide dense layer, depending on how the recurrence's sums are grouped), each valid for its own run. certifiedNorm.ts stops once its bound is within lanczosTolerance
 * = 1e-4 of θ ≤ λ, so both lie in [λ, λ(1 + 1e-4)]; a network bound compounds one such factor per layer.
 */
const LANCZOS_AGREEMENT = 1e-4;
/**
 * The composed network bound's agreement. Its quadrature weights are aimed by an iteration on its
 * certified norms (derivations §59.3), which moves the bound by about 4e-8 between backends on the
 * default path; with Lanczos everywhere each of its norms stops once certified within 1e-2 of λ (§22),
 * and the bound compounds one such factor per norm.
 */
const COMPOSED_AGREEMENT = 1e-6;
const COMPOSED_LANCZOS_AGREEMENT = 1e-2;
/**
 * The quadrature bound (§59.3) aims its weights by following the top eigenvector of a weighted Gram
 * matrix; where its top eigenvalues nearly coincide, slopes equal to 1e-16 (the per-coordinate reach of
 * §67 is computed on each backend's |A|) can send that iteration to different weights, each giving a
 * sound bound. Measured: randomTransposeNetwork #3 at ε = 0.60, 1.4078 (native) against 1.4371
 * (TypeScript), with the same slopes, prefix norms and ‖J(M)‖ to 1e-15. So the final composed value is
 * compared at this tolerance, and ‖J(M)‖ — the same passes through the same linearised network, no
 * aiming — at COMPOSED_AGREEMENT.
 */
const COMPOSED_AIMED_AGREEMENT = 5e-2;

const cases = engineCases(ENGINE_SEED);

interface PureTypeScript {
  defaultBackend: string;
  problem: string;
  results: { defaults: RunSummary[]; lanczos: RunSummary[] }[];
}

let pureTypeScript: Promise<PureTypeScript> | undefined;

/** The same cases analysed in a child process without the native kernels (started once, shared). */
function pureTypeScriptResults(): Promise<PureTypeScript> {
  pureTypeScript ??= runChild<PureTypeScript>('reference', { LIPSCHITZ_LENS_KERNELS: 'typescript', LIPSCHITZ_LENS_ISA: undefined });
  return pureTypeScript;
}

function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

interface Comparison {
  worst: number;
  /** Certificates whose Lanczos step count differed between the two sides. */
  stepChanges: number;
  /** The largest relative difference of two Lanczos bounds (compared at LANCZOS_AGREEMENT). */
  worstLanczos: number;
}

/** Every bound of two summaries of the same case, at the tolerances above; fails on a non-finite or missing value. */
function compareSummaries(label: string, ours: RunSummary[], theirs: RunSummary[], into: Comparison, lanczosEverywhere: boolean): void {
  assert.equal(ours.length, theirs.length, `${label}: ${ours.length} runs vs ${theirs.length}`);
  ours.forEach((run, r) => {
    const other = theirs[r];
    const where = `${label} ε=${run.epsilon}`;
    assert.equal(run.epsilon, other.epsilon, `${where}: ε`);
    assert.equal(run.layers.length, other.layers.length, `${where}: layer count`);
    const check = (what: string, a: number, b: number, tolerance: number) => {
      assert.ok(Number.isFinite(a) && Number.isFinite(b), `${where} ${what}: ${a} vs ${b}`);
      const d = relativeDifference(a, b);
      assert.ok(d <= tolerance, `${where} ${what}: compiled ${a} vs TypeScript ${b} (relative ${d.toExponential(2)} > ${tolerance})`);
      if (tolerance === AGREEMENT) into.worst = Math.max(into.worst, d);
      else into.worstLanczos = Math.max(into.worstLanczos, d);
    };
    let lanczosBounds = 0;
    run.layers.forEach((layer, k) => {
      const theirsLayer = other.layers[k];
      assert.equal(layer.label, theirsLayer.label);
      for (const [what, bound, steps, estimate] of [
        ['localBound', 'localBound', 'localSteps', 'localEstimate'],
        ['spectralNorm', 'spectralNorm', 'spectralSteps', 'spectralEstimate'],
      ] as const) {
        const [a, b] = [layer[steps], theirsLayer[steps]];
        const lanczos = a !== null || b !== null;
        if (lanczos) lanczosBounds++;
        if (a !== b) into.stepChanges++;
        check(`layer ${k} (${layer.label}) ${what}`, layer[bound], theirsLayer[bound], lanczos ? LANCZOS_AGREEMENT : AGREEMENT);
        const [ours, theirs] = [layer[estimate], theirsLayer[estimate]];
        if (ours === null || theirs === null) assert.equal(ours, theirs, `${where} layer ${k} (${layer.label}) ${what}: estimate on one side only`);
        else check(`layer ${k} (${layer.label}) ${what} estimate`, ours, theirs, a === b ? AGREEMENT : LANCZOS_AGREEMENT);
      }
    });
    const network = (1 + LANCZOS_AGREEMENT) ** lanczosBounds - 1 + AGREEMENT;
    check('network layerProduct', run.layerProduct, other.layerProduct, network);
    // The composed bound's norms stop once certified within 1e-2 of λ (derivations §22) and its
    // quadrature weights are aimed by an iteration on their results (§59.3): two backends agree to that.
    const composedNorms = Math.max(run.composedNorms, other.composedNorms);
    const composed = lanczosEverywhere ? (1 + COMPOSED_LANCZOS_AGREEMENT) ** composedNorms - 1 : COMPOSED_AGREEMENT;
    const aimed = Math.max(composed, COMPOSED_AIMED_AGREEMENT);
    check('network localBound', run.localBound, other.localBound, run.method === 'composed' || other.method === 'composed' ? Math.max(network, aimed) : network);
    if (run.midpointNorm !== null && other.midpointNorm !== null) check('composed ‖J(M)‖', run.midpointNorm, other.midpointNorm, composed);
    check('network spectralBound', run.spectralBound, other.spectralBound, network);
  });
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** The TypeScript backend's summaries, computed once for both compiled backends. */
const typescriptRuns = new Map<string, Promise<RunSummary[]>>();
function typescriptSummary(k: number, lanczos: boolean): Promise<RunSummary[]> {
  const key = `${k} ${lanczos}`;
  const c = cases[k];
  if (!typescriptRuns.has(key)) {
    typescriptRuns.set(key, analyzeNetwork(c.network, c.x0, { epsilons: c.epsilons, ...(lanczos ? LANCZOS_OPTIONS : {}), backend: 'typescript' }).then(summarize));
  }
  return typescriptRuns.get(key)!;
}

for (const backend of ['native', 'webassembly'] as const satisfies readonly OperatorBackend[]) describe(`engine on the ${backend} backend`, () => {
  it(`the ${backend} backend builds conv and dense layers on the compiled operators, the TypeScript backend on the reference`, () => {
    kernelsFor(backend);
    let layers = 0;
    for (const c of cases) {
      assert.equal(prepareNetwork(c.network).backend, 'native', `${c.label}: default backend where the native kernels load`);
      assert.equal(prepareNetwork(c.network, backend).backend, backend);
      assert.equal(prepareNetwork(c.network, 'typescript').backend, 'typescript');
      for (const layer of c.network.layers) {
        if (layer.op.kind !== 'affine' || layer.op.linear.kind === 'channelAffine') continue;
        const params = layer.op.linear;
        const build = (on: OperatorBackend) => createAffineOperator(params, layer.inputShapes[0], layer.label, on).linear;
        const conv = params.kind === 'conv';
        assert.ok(build(backend) instanceof (conv ? NativeConvOperator : NativeDenseOperator), `${c.label} ${layer.label}: compiled operator`);
        const reference = build('typescript');
        assert.ok((conv ? reference instanceof ConvOperator : reference instanceof DenseOperator) && !(reference instanceof NativeDenseOperator),
          `${c.label} ${layer.label}: TypeScript operator`);
        layers++;
      }
    }
    assert.ok(layers >= 40, `${layers} conv and dense layers`);
  });

  for (const [path, options] of [['default options (exact path but for the medium conv layer)', {}], ['Lanczos path (exactCutoff 0)', LANCZOS_OPTIONS]] as const) {
    it(`${path}: every bound agrees with the TypeScript backend (1e-9, Lanczos bounds within their tolerance)`, async (t) => {
      kernelsFor(backend);
      const child = await pureTypeScriptResults();
      assert.equal(child.defaultBackend, 'typescript', `the reference child must run without native kernels (${child.problem})`);
      assert.equal(child.results.length, cases.length);
      const inProcess: Comparison = { worst: 0, stepChanges: 0, worstLanczos: 0 };
      const pure: Comparison = { worst: 0, stepChanges: 0, worstLanczos: 0 };
      for (const [k, c] of cases.entries()) {
        const compiled = summarize(await analyzeNetwork(c.network, c.x0, { epsilons: c.epsilons, ...options, backend }));
        const typescript = await typescriptSummary(k, options === LANCZOS_OPTIONS);
        compareSummaries(c.label, compiled, typescript, inProcess, options === LANCZOS_OPTIONS);
        const reference = options === LANCZOS_OPTIONS ? child.results[k].lanczos : child.results[k].defaults;
        compareSummaries(`${c.label} (pure TypeScript child)`, compiled, reference, pure, options === LANCZOS_OPTIONS);
      }
      t.diagnostic(`worst relative difference ${inProcess.worst.toExponential(2)} against the TypeScript operators, ${pure.worst.toExponential(2)} against no native code; Lanczos bounds: worst ${inProcess.worstLanczos.toExponential(2)}, ${pure.worstLanczos.toExponential(2)}; step-count changes: ${inProcess.stepChanges}, ${pure.stepChanges}`);
      // The compiled run did run other code: bit-identical bounds on all 20 networks would mean it did not.
      assert.ok(inProcess.worst > 0 && pure.worst > 0, `${backend} and TypeScript bounds are bit-identical everywhere`);
    });
  }

  it(`soundness: no point sampled in the ε-ball exceeds the ${backend} network bound or a layer radius`, async (t) => {
    kernelsFor(backend);
    // Bounds carry their own rounding margins; the sampled values are float64 sums of a few hundred
    // terms, so 1e-9 relative plus 1e-12 absolute is far above their error and far below a violation
    // (as in engineSoundness.test.ts).
    const REL = 1e-9;
    const ABS = 1e-12;
    const random = new SeededRandom(90210);
    let points = 0;
    let worstRatio = 0;
    for (const c of cases) {
      const n = c.x0.length;
      const base = referenceForward(c.network, c.x0);
      const output = (values: Float64Array[], x: Float64Array) => (c.network.output === NETWORK_INPUT ? x : values[c.network.output]);
      const f0 = output(base, c.x0);
      for (const options of [{}, LANCZOS_OPTIONS]) {
        const result = await analyzeNetwork(c.network, c.x0, { epsilons: c.epsilons, backend, ...options });
        for (const run of result.runs) {
          const epsilon = run.epsilon;
          const bound = run.network.localBound;
          const check = (x: Float64Array) => {
            const dx = distance(x, c.x0);
            assert.ok(dx <= epsilon * (1 + 1e-12), 'sample outside the ball');
            if (dx === 0) return;
            const values = referenceForward(c.network, x);
            const ratio = distance(output(values, x), f0) / dx;
            assert.ok(ratio <= bound * (1 + REL) + ABS / dx, `${c.label} ε=${epsilon}: ratio ${ratio} > ${backend} bound ${bound}`);
            run.layers.forEach((layer, k) => {
              const moved = distance(values[k], base[k]);
              assert.ok(moved <= layer.epsilonOut * (1 + REL) + ABS, `${c.label} ε=${epsilon} layer ${k} (${layer.label}) moved ${moved} > radius ${layer.epsilonOut}`);
            });
            points++;
            if (bound > 0) worstRatio = Math.max(worstRatio, ratio / bound);
          };
          const pointAt = (radius: number) => {
            const direction = Float64Array.from({ length: n }, () => random.gaussian());
            const length = Math.sqrt(direction.reduce((s, v) => s + v * v, 0));
            return c.x0.map((v, i) => v + (radius * direction[i]) / length);
          };
          // Uniform in the ball (radius ε·u^(1/n)), on the sphere, and very close to x0.
          for (let s = 0; s < 20; s++) check(pointAt(epsilon * Math.pow(random.uniform(), 1 / n)));
          for (let s = 0; s < 10; s++) check(pointAt(epsilon));
          for (let s = 0; s < 5; s++) check(pointAt(epsilon * 1e-4 * random.uniform()));
        }
      }
    }
    t.diagnostic(`${points} points, best ratio/bound ${worstRatio.toFixed(4)}`);
    assert.equal(points, cases.length * 2 * 2 * 35);
    // Not vacuous: some sampled ratio reaches a sizeable part of the bound.
    assert.ok(worstRatio > 0.3 && worstRatio <= 1 + REL, `best ratio/bound ${worstRatio}`);
  });
});
