// The sentences the view shows, from plain data: status line, phase badge, ε validation, the formula
// and certificate of a layer in a reader's words, the scale of ε. Pure, so unit tests read them.

import { escapeControlCharacters, formatNumber, tighteningRatio } from '../src/shared/format';
import type { BoundReport } from '../src/shared/protocol';
import type { Certificate, CertificateMethod, LayerResult } from '../src/shared/results';
import { mainRun, type ViewState } from './viewState';

/** Control and bidi characters from a model shown as escapes, not obeyed (a right-to-left override would reorder a name). */
export function visible(text: string): string {
  return escapeControlCharacters(text, true);
}

const DECIMAL_NUMBER = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Mirrors parseEpsilonInput in src/shared/settings.ts (the host validates again). */
export function epsilonProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!DECIMAL_NUMBER.test(trimmed)) {
    return 'Enter a positive decimal number such as 0.001 or 1e-3.';
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) {
    return 'ε must be a finite number.';
  }
  return value > 0 ? undefined : 'ε must be greater than 0.';
}

export function phaseLabel(state: ViewState): string {
  const status = state.status;
  if (!status) {
    return 'not analyzed';
  }
  const task = status.task === 'sweep' ? 'sweep ' : '';
  switch (status.phase) {
    case 'idle':
      return 'not analyzed';
    case 'running':
      return `${task}running`;
    case 'done':
      return `${task}done`;
    case 'cancelled':
      return `${task}cancelled`;
    case 'failed':
      return `${task}failed`;
  }
}

/**
 * What the engine is doing, in the notification's words: its progress message is shown as it is (the
 * notification shows the same one), with the ε only where the message does not name it already.
 */
function progressText(state: ViewState): string {
  const status = state.status!;
  const message = status.progress?.message;
  if (status.task === 'sweep') {
    return `Running the ε sweep: ${message ?? 'starting'}…`;
  }
  const epsilon = `ε = ${formatNumber(status.epsilon)}`;
  if (!message) return `Analyzing at ${epsilon}: starting…`;
  // "ε = 0.001: conv2 done (3/7)" becomes "Analyzing at ε = 0.001: conv2 done (3/7)…".
  return message.startsWith(`${epsilon}: `) ? `Analyzing at ${message}…` : `Analyzing at ${epsilon}: ${message}…`;
}

export function statusText(state: ViewState): string {
  const status = state.status;
  if (!status) {
    return '';
  }
  const sweep = status.task === 'sweep';
  switch (status.phase) {
    case 'idle':
      return `${status.message ?? 'Not analyzed yet.'} ε = ${formatNumber(status.epsilon)}, ${status.inputLabel}.`;
    case 'running':
      return progressText(state);
    case 'done': {
      const suffix = status.message ? ` ${status.message}` : '';
      if (sweep) {
        return `ε sweep done: ${state.sweep?.runs.length ?? 0} radii.${suffix}`;
      }
      const run = mainRun(state);
      if (!run) {
        return `Done.${suffix}`;
      }
      const { localBound, spectralBound } = run.network;
      const ratio = tighteningRatio(spectralBound, localBound);
      return (
        `Done at ε = ${formatNumber(run.epsilon)}: network local bound ${formatNumber(localBound)}, ` +
        `spectral product ${formatNumber(spectralBound)}` +
        (ratio === undefined ? '.' : ` (${formatNumber(ratio)}× tighter).`) +
        suffix
      );
    }
    case 'cancelled':
      return sweep ? 'ε sweep cancelled.' : 'Analysis cancelled.';
    case 'failed':
      return `${sweep ? 'ε sweep' : 'Analysis'} failed: ${status.message ?? 'no reason given.'}`;
  }
}

/**
 * ε against the size of the input: ‖x0‖ (when the report carries it) and the per-coordinate change
 * of a perturbation of norm ε spread evenly over all n input values, ε / √n.
 */
export function epsilonScale(epsilon: number, input: BoundReport['input']): string {
  const count = input.shape.reduce((a, b) => a * b, 1);
  const parts: string[] = [];
  if (input.norm !== undefined && input.norm > 0) {
    parts.push(`${formatNumber((100 * epsilon) / input.norm)}% of ‖x0‖ = ${formatNumber(input.norm)}`);
  }
  if (count > 1) {
    parts.push(`≈ ${formatNumber(epsilon / Math.sqrt(count))} per input value if spread evenly over all ${count.toLocaleString('en-US')}`);
  }
  return parts.join('; ');
}

/** The formula behind a layer's local bound, by the engine's layer kind. */
export function formulaFor(layer: LayerResult): string {
  const [linear, activation] = layer.kind.split('+');
  if (activation) {
    return activation === 'relu'
      ? `‖R A D‖: the ${linear} map A with its rows restricted to ReLU neurons that are on or unstable in the ball (R) and its columns to inputs that can move (D)`
      : `‖R A D‖: the ${linear} map A, rows scaled by the ${activation} slope bounds over the ball (R), columns restricted to inputs that can move (D)`;
  }
  switch (layer.kind) {
    case 'conv':
    case 'conv3d':
    case 'convTranspose':
    case 'convTranspose3d':
    case 'dense':
    case 'channelAffine':
      return `‖A D‖: the lone ${layer.kind} map A, columns restricted to inputs that can move (D)`;
    case 'maxPool':
      return '√(largest number of pooling windows sharing a movable input)';
    case 'avgPool':
    case 'globalAvgPool':
      return '‖A D‖ of the averaging operator (closed form when the windows are disjoint)';
    case 'axisMap':
      return '‖A D‖ of the per-axis linear map (slice, gather, reduction or resize; closed form when its rows or columns are disjoint)';
    case 'reshape':
      return '1: values unchanged, only the shape';
    case 'transpose':
      return '1: a permutation of the values (an isometry)';
    case 'add':
      return 'ratio of radii: (Σ ε of the summed inputs) / ε in; a composition rule, not a Lipschitz constant';
    case 'concat':
      return 'ratio of radii: √(Σ ε² of the parts) / ε in; a composition rule, not a Lipschitz constant';
    case 'mul':
      return 'ratio of radii: ((β + ε_b) ε_a + α ε_b) / ε in for the product a ⊙ b (β: largest |b|, α: largest norm of a over one b entry); depends on ε, a composition rule';
    case 'matMul':
      return 'ratio of radii: ((β + ε_B) ε_A + α ε_B) / ε in for the product A·B of two computed matrices (α, β: largest certified norms of the A and B matrices); depends on ε, a composition rule';
    case 'maximum':
      return 'ratio of radii: √(ε_a² + k ε_b²) / ε in for the larger of two computed tensors (k: most a entries sharing one b entry); a composition rule';
    case 'layerNorm':
      return 'largest |scale| over the smallest √(variance + ε) reachable in the ball';
    case 'reduceMax':
      return '1: each output is the largest of its own window of inputs';
    case 'softmax':
      return 'the largest norm of the softmax Jacobian over the probabilities reachable in the ball (at most ½)';
    default:
      return `max_i r_i: the largest ${layer.kind} slope bound over each coordinate's interval [x_i − ε, x_i + ε]`;
  }
}

const METHOD_WORDS: Record<CertificateMethod, string> = {
  'exact-eigen': 'Computed exactly',
  'lanczos-random-start': 'Lanczos iteration from a random start',
  'closed-form': 'Closed form',
  composition: 'Combined from the radii of the branches',
};

/** How a number was certified, in a reader's words: no engine identifiers, no source-file names. */
export function certificateLines(certificate: Certificate): string[] {
  const detail = certificate.detail.replace(/\s*\(see [\w./-]+\.ts\)/g, '');
  const lines = [`${METHOD_WORDS[certificate.method] ?? certificate.method}: ${detail}`];
  const facts: string[] = [];
  if (certificate.iterations !== undefined) facts.push(`${certificate.iterations} iterations`);
  if (certificate.dimension !== undefined) facts.push(`dimension ${certificate.dimension}`);
  if (certificate.delta !== undefined) facts.push(`δ = ${formatNumber(certificate.delta)}`);
  if (certificate.failureProbability !== undefined) facts.push(`failure probability ${formatNumber(certificate.failureProbability)}`);
  if (certificate.seed !== undefined) facts.push(`seed ${certificate.seed}`);
  if (certificate.estimate !== undefined) facts.push(`estimate ${formatNumber(certificate.estimate)}`);
  if (certificate.roundingMargin !== undefined) facts.push(`rounding margin ${formatNumber(certificate.roundingMargin)}`);
  if (facts.length > 0) lines.push(facts.join(', '));
  return lines;
}

/** Why a ratio ‖A‖ / local below 1 on a merge row is no bug. */
export const COMPOSITION_NOTE =
  '⁽ʳ⁾ Add and Concat layers (and products of two computed tensors) merge branches: both columns are ratios of output to input ' +
  'radius, one from the local radii of the branches, the other from their global bounds. The branches weigh differently in the ' +
  'two, so their ratio can fall below 1 there; neither is a Lipschitz constant of the layer, and the network totals are unaffected.';
