// Points of an ε-ball for the sampled soundness tests of the composed reach (prefixReach, unitReach, jumpReach).
import assert from 'node:assert/strict';
import type { SeededRandom } from '../../../src/engine/random';

export function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Points of the ball around x0: uniform inside, on the sphere, and hill-climbed on `score`. */
export function ballPoints(random: SeededRandom, x0: Float64Array, epsilon: number, score: (x: Float64Array) => number): Float64Array[] {
  const n = x0.length;
  const gaussian = () => Float64Array.from({ length: n }, () => random.gaussian());
  const pointAt = (direction: Float64Array, radius: number) => {
    const norm = Math.sqrt(direction.reduce((s, v) => s + v * v, 0));
    return x0.map((v, i) => v + (radius * direction[i]) / norm);
  };
  const points: Float64Array[] = [];
  for (let s = 0; s < 12; s++) points.push(pointAt(gaussian(), epsilon * Math.pow(random.uniform(), 1 / n)));
  for (let s = 0; s < 12; s++) points.push(pointAt(gaussian(), epsilon));
  let x = pointAt(gaussian(), epsilon);
  let best = score(x);
  let step = 0.3 * epsilon;
  for (let iter = 0; iter < 30; iter++) {
    const move = gaussian();
    const candidate = x.map((v, i) => v + (step * move[i]) / Math.sqrt(n));
    const radius = distance(candidate, x0);
    const projected = radius > epsilon ? x0.map((v, i) => v + ((candidate[i] - v) * epsilon) / radius) : candidate;
    const s = score(projected);
    if (s > best) {
      best = s;
      x = projected;
    } else step *= 0.7;
  }
  points.push(x);
  return points;
}

/**
 * Asserts that no point of the ball (ballPoints, hill-climbed on the ratio itself) has
 * ‖f(x) − f(x0)‖ / ‖x − x0‖ above `bound` (up to 1e-9 relative and 1e-12 absolute).
 */
export function assertRatiosWithin(random: SeededRandom, f: (x: Float64Array) => Float64Array, x0: Float64Array, epsilon: number, bound: number, what: string): void {
  const f0 = f(x0);
  const ratio = (x: Float64Array) => {
    const dx = distance(x, x0);
    return dx === 0 ? 0 : distance(f(x), f0) / dx;
  };
  for (const x of ballPoints(random, x0, epsilon, ratio)) {
    const r = ratio(x);
    assert.ok(r <= bound * (1 + 1e-9) + 1e-12, `${what}, ε ${epsilon}: ratio ${r} > bound ${bound}`);
  }
}
