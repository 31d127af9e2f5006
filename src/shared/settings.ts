// The lipschitzLens.* settings: defaults, validation and the ε helpers shared by the input box,
// the worker and the settings reader. The ranges here are the ones package.json declares; a unit
// test keeps the two in step.

import type { EngineOptions } from './protocol';

export type SweepSetting = number[] | { min: number; max: number; points: number };

export interface LensSettings {
  epsilon: number;
  /** The sweep's ε values, ascending. */
  sweep: number[];
  engine: EngineOptions;
}

export const SETTING_DEFAULTS = {
  epsilon: 0.001,
  sweep: { min: 1e-4, max: 10, points: 11 } as SweepSetting,
  failureProbability: 1e-6,
  maxExactDimension: 512,
  lanczosSteps: 200,
  workerThreads: null as number | null,
  computeRadius: true,
  /** The radius search stops within this relative distance of its upper end (docs/derivations.md §60.1). */
  radiusTolerance: 0.02,
  /**
   * The composed network bound may use this many times the layer run's operator applications (0: off,
   * the layer product and the spectral product only); docs/derivations.md §64.
   */
  composedBudget: 6,
  /** An analysis estimated to need more memory (GB) is refused by the CLI and confirmed in the editor. */
  maxMemoryGB: 4,
};

export const SETTING_LIMITS = {
  failureProbability: { exclusiveMinimum: 0, maximum: 0.01 },
  maxExactDimension: { minimum: 0, maximum: 4096 },
  lanczosSteps: { minimum: 10, maximum: 10000 },
  workerThreads: { minimum: 1, maximum: 64 },
  maxMemoryGB: { exclusiveMinimum: 0, maximum: 1024 },
  radiusTolerance: { exclusiveMinimum: 0, maximum: 1 },
  composedBudget: { minimum: 0, maximum: 1000 },
  sweepPoints: { minimum: 2, maximum: 100 },
  sweepValues: { maxItems: 100 },
};

/** Why a value cannot be a perturbation radius, or undefined when it can. */
export function checkEpsilon(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return 'ε must be a finite number.';
  }
  if (value <= 0) {
    return 'ε must be greater than 0.';
  }
  return undefined;
}

const DECIMAL_NUMBER = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses what a user typed as ε ("0.001", "1e-3"); hexadecimal, "Infinity" and the like are refused. */
export function parseEpsilonInput(text: string): { value: number } | { error: string } {
  const trimmed = text.trim();
  if (!DECIMAL_NUMBER.test(trimmed)) {
    return { error: 'Enter a positive decimal number such as 0.001 or 1e-3.' };
  }
  const value = Number(trimmed);
  const problem = checkEpsilon(value);
  return problem ? { error: problem } : { value };
}

/** The ε values of a sweep: the given list (sorted, de-duplicated) or `points` log-spaced values. */
export function expandSweep(sweep: SweepSetting): number[] {
  if (Array.isArray(sweep)) {
    return [...new Set(sweep)].sort((a, b) => a - b);
  }
  const { min, max, points } = sweep;
  const logMin = Math.log10(min);
  const step = (Math.log10(max) - logMin) / (points - 1);
  // The ends are exact so that a sweep from 1e-4 to 10 really contains 10, not 9.999999999.
  return Array.from({ length: points }, (_, i) => (i === 0 ? min : i === points - 1 ? max : 10 ** (logMin + i * step)));
}

function sweepProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > SETTING_LIMITS.sweepValues.maxItems) {
      return `must list between 1 and ${SETTING_LIMITS.sweepValues.maxItems} values`;
    }
    return value.every((item) => checkEpsilon(item) === undefined) ? undefined : 'must list finite numbers greater than 0';
  }
  if (typeof value !== 'object' || value === null) {
    return 'must be a list of numbers or an object with min, max and points';
  }
  const { min, max, points } = value as Record<string, unknown>;
  if (checkEpsilon(min) || checkEpsilon(max) || (max as number) <= (min as number)) {
    return 'needs 0 < min < max, both finite';
  }
  const { minimum, maximum } = SETTING_LIMITS.sweepPoints;
  if (!Number.isInteger(points) || (points as number) < minimum || (points as number) > maximum) {
    return `needs an integer number of points from ${minimum} to ${maximum}`;
  }
  return undefined;
}

function inRange(
  value: unknown,
  limits: { minimum?: number; maximum?: number; exclusiveMinimum?: number },
  integer: boolean,
): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (limits.minimum === undefined || value >= limits.minimum) &&
    (limits.exclusiveMinimum === undefined || value > limits.exclusiveMinimum) &&
    (limits.maximum === undefined || value <= limits.maximum)
  );
}

/**
 * Reads and validates every setting through `get` (the configuration's getter, or a plain object
 * in tests). An invalid value falls back to its default and adds one sentence to `problems`.
 */
export function readLensSettings(
  get: (key: string) => unknown,
  cpuCount: number,
): { settings: LensSettings; problems: string[] } {
  const problems: string[] = [];
  function pick<T>(key: string, valid: (value: unknown) => boolean, fallback: T, rule: string): T {
    const value = get(key);
    if (value === undefined) {
      return fallback;
    }
    if (!valid(value)) {
      problems.push(`lipschitzLens.${key} ${rule}; using ${JSON.stringify(fallback)}.`);
      return fallback;
    }
    return value as T;
  }
  const limits = SETTING_LIMITS;
  const epsilon = pick('epsilon', (v) => checkEpsilon(v) === undefined, SETTING_DEFAULTS.epsilon, 'must be a finite number greater than 0');
  const sweepValue = get('sweep');
  const sweepError = sweepValue === undefined ? undefined : sweepProblem(sweepValue);
  if (sweepError) {
    problems.push(`lipschitzLens.sweep ${sweepError}; using ${JSON.stringify(SETTING_DEFAULTS.sweep)}.`);
  }
  const sweep = expandSweep(sweepValue === undefined || sweepError ? SETTING_DEFAULTS.sweep : (sweepValue as SweepSetting));
  const failureProbability = pick(
    'failureProbability',
    (v) => inRange(v, limits.failureProbability, false),
    SETTING_DEFAULTS.failureProbability,
    `must be greater than 0 and at most ${limits.failureProbability.maximum}`,
  );
  const maxExactDimension = pick(
    'maxExactDimension',
    (v) => inRange(v, limits.maxExactDimension, true),
    SETTING_DEFAULTS.maxExactDimension,
    `must be an integer from ${limits.maxExactDimension.minimum} to ${limits.maxExactDimension.maximum}`,
  );
  const lanczosSteps = pick(
    'lanczosSteps',
    (v) => inRange(v, limits.lanczosSteps, true),
    SETTING_DEFAULTS.lanczosSteps,
    `must be an integer from ${limits.lanczosSteps.minimum} to ${limits.lanczosSteps.maximum}`,
  );
  const workerThreads = pick<number | null>(
    'workerThreads',
    (v) => v === null || inRange(v, limits.workerThreads, true),
    SETTING_DEFAULTS.workerThreads,
    `must be null or an integer from ${limits.workerThreads.minimum} to ${limits.workerThreads.maximum}`,
  );
  const maxMemoryGB = pick(
    'maxMemoryGB',
    (v) => inRange(v, limits.maxMemoryGB, false),
    SETTING_DEFAULTS.maxMemoryGB,
    `must be greater than 0 and at most ${limits.maxMemoryGB.maximum}`,
  );
  const radiusTolerance = pick(
    'radiusTolerance',
    (v) => inRange(v, limits.radiusTolerance, false),
    SETTING_DEFAULTS.radiusTolerance,
    `must be greater than 0 and at most ${limits.radiusTolerance.maximum}`,
  );
  const composedBudget = pick(
    'composedBudget',
    (v) => inRange(v, limits.composedBudget, false),
    SETTING_DEFAULTS.composedBudget,
    `must be a number from ${limits.composedBudget.minimum} to ${limits.composedBudget.maximum}`,
  );
  const computeRadius = pick('computeRadius', (v) => typeof v === 'boolean', SETTING_DEFAULTS.computeRadius, 'must be true or false');
  return {
    settings: {
      epsilon,
      sweep,
      engine: {
        failureProbability,
        exactCutoff: maxExactDimension,
        lanczosSteps,
        // More threads than cores only adds contention (the kernels' threads compute flat out).
        threads: Math.max(1, Math.min(workerThreads ?? cpuCount, cpuCount)),
        computeRadius,
        radiusTolerance,
        composedBudget,
        maxMemoryBytes: maxMemoryGB * 2 ** 30,
      },
    },
    problems,
  };
}
