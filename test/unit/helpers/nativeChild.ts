// Child process of the native tests: `node --import tsx nativeChild.ts <mode>`. The kernels read
// LIPSCHITZ_LENS_ISA and LIPSCHITZ_LENS_KERNELS once, when they load, so each setting needs a process
// of its own. Prints one JSON object on stdout.
//   agreement  every product and spectral kernel against its reference, in the build the ISA selects
//   reference  the engine cases of nativeEngine.test.ts analysed with no native code at all
import { analyzeNetwork } from '../../../src/engine/analyze';
import { defaultBackend, nativeProblem, requireNativeKernels } from '../../../src/engine/native/kernels';
import { SeededRandom } from '../../../src/engine/random';
import {
  compareCholeskyResidual, compareConv, compareDense, compareGramMatrix, compareLanczosRecurrence, compareMatVec, DENSE_SHAPES,
  ENGINE_SEED, engineCases, FIXED_CONV_CASES, LANCZOS_OPTIONS, NO_DISAGREEMENT, randomConvCases, shiftedGram, summarize, worstOf,
} from './nativeCases';

export const AGREEMENT_SEED = 5151;

function agreement(): object {
  const kernels = requireNativeKernels();
  const random = new SeededRandom(AGREEMENT_SEED);
  let conv = NO_DISAGREEMENT;
  for (const c of [...FIXED_CONV_CASES, ...randomConvCases(random, 8)]) conv = worstOf(conv, compareConv(c, random));
  let dense = NO_DISAGREEMENT;
  for (const [rows, cols] of DENSE_SHAPES) dense = worstOf(dense, compareDense(rows, cols, random));
  const recurrence = [compareLanczosRecurrence(kernels, random, 257), compareLanczosRecurrence(kernels, random, 100_003)];
  const matVec = [compareMatVec(kernels, random, 37, 53), compareMatVec(kernels, random, 300, 701)];
  const gram = [compareGramMatrix(kernels, random, 29, 101), compareGramMatrix(kernels, random, 150, 601)];
  const cholesky = compareCholeskyResidual(kernels, shiftedGram(random, 120, 150, true), 120);
  return {
    ...kernels.describe(),
    conv,
    dense,
    spectral: {
      recurrence: Math.max(...recurrence.flatMap((r) => [r.alpha, r.beta, r.residual, r.next])),
      recurrenceOrthogonality: Math.max(...recurrence.map((r) => r.orthogonality)),
      recurrenceUnitNext: Math.max(...recurrence.map((r) => r.unitNext)),
      matVec: Math.max(...matVec.map((m) => m.relative)),
      matVecBound: Math.max(...matVec.map((m) => m.bound)),
      gramMatrix: Math.max(...gram.map((g) => g.relative)),
      gramMatrixBound: Math.max(...gram.map((g) => g.bound)),
      gramMatrixSymmetric: gram.every((g) => g.symmetric),
      cholesky: cholesky.relative,
      choleskyResidual: cholesky.residual,
    },
  };
}

async function reference(): Promise<object> {
  const results = [];
  for (const c of engineCases(ENGINE_SEED)) {
    const options = { epsilons: c.epsilons, backend: 'typescript' as const };
    results.push({
      defaults: summarize(await analyzeNetwork(c.network, c.x0, options)),
      lanczos: summarize(await analyzeNetwork(c.network, c.x0, { ...options, ...LANCZOS_OPTIONS })),
    });
  }
  return { defaultBackend: defaultBackend(), problem: nativeProblem(), results };
}

async function main(mode: string | undefined): Promise<void> {
  if (mode === 'agreement') process.stdout.write(JSON.stringify(agreement()));
  else if (mode === 'reference') process.stdout.write(JSON.stringify(await reference()));
  else throw new Error(`nativeChild.ts: unknown mode '${mode}' (agreement | reference)`);
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
