// The cost of the engine's Lanczos bookkeeping alone (src/engine/spectral/certifiedNorm.ts: full
// reorthogonalisation, dots and axpys on float64 vectors in JavaScript), separated from the operator:
// certifiedNorm on a diagonal operator whose products cost nothing. The cost grows like n · steps², so
// one size measured here projects the bookkeeping of every layer. Prints one JSON line.
//
//   tsx bench/lanczos.ts [n] [steps]

import type { LinearOperator } from '../src/engine/operators/linearOperator';
import { SeededRandom } from '../src/engine/random';
import { certifiedNorm, DEFAULT_SPECTRAL_OPTIONS } from '../src/engine/spectral/certifiedNorm';

export interface LanczosMeasurement {
  n: number;
  steps: number;
  ms: number;
}

function diagonal(values: Float64Array): LinearOperator {
  const times = (v: Float64Array) => v.map((x, i) => x * values[i]);
  return {
    inSize: values.length,
    outSize: values.length,
    apply: times,
    applyTranspose: times,
    rowNormsSquared: (d) => d.map((x, i) => x * values[i] * values[i]),
  };
}

const n = Number(process.argv[2] ?? 50_000);
const steps = Number(process.argv[3] ?? 200);
const random = new SeededRandom(3);
const op = diagonal(Float64Array.from({ length: n }, () => random.uniform()));
const started = performance.now();
certifiedNorm(op, null, null, { ...DEFAULT_SPECTRAL_OPTIONS, exactCutoff: 0, maxExactEntries: 0, lanczosSteps: steps });
const result: LanczosMeasurement = { n, steps, ms: performance.now() - started };
console.log(JSON.stringify(result));
