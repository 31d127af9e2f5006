// lipschitzLens.* validation, the ε input box parser, the sweep, and agreement with package.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/shared/ids';
import { expandSweep, parseEpsilonInput, readLensSettings, SETTING_DEFAULTS, SETTING_LIMITS } from '../../src/shared/settings';

const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, Record<string, unknown>> = manifest.contributes.configuration.properties;

function settingsFrom(values: Record<string, unknown>, cpuCount = 2) {
  return readLensSettings((key) => values[key], cpuCount);
}

describe('ε input', () => {
  it('accepts positive decimal numbers', () => {
    assert.deepEqual(parseEpsilonInput(' 0.001 '), { value: 0.001 });
    assert.deepEqual(parseEpsilonInput('1e-3'), { value: 0.001 });
    assert.deepEqual(parseEpsilonInput('2'), { value: 2 });
    assert.deepEqual(parseEpsilonInput('.5'), { value: 0.5 });
  });

  it('refuses zero, negatives, non-finite and non-decimal text with a reason', () => {
    for (const text of ['0', '0.0', '-1', '', 'abc', 'Infinity', 'NaN', '0x10', '1e400', '1,5']) {
      const parsed = parseEpsilonInput(text);
      assert.ok('error' in parsed, `"${text}" was accepted`);
      assert.ok(parsed.error.length > 0);
    }
  });
});

describe('sweep', () => {
  it('spaces points logarithmically with exact ends', () => {
    const values = expandSweep({ min: 1e-4, max: 10, points: 6 });
    // 10^-4 … 10^1 in six steps: one decade apart.
    const expected = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
    assert.equal(values.length, 6);
    values.forEach((value, i) => assert.ok(Math.abs(value / expected[i] - 1) <= 1e-12, `${value} vs ${expected[i]}`));
    assert.equal(values[0], 1e-4);
    assert.equal(values[5], 10);
  });

  it('sorts and de-duplicates a list', () => {
    assert.deepEqual(expandSweep([1, 0.1, 1, 0.01]), [0.01, 0.1, 1]);
  });
});

describe('settings reader', () => {
  it('returns the defaults with no problems when nothing is set', () => {
    const { settings, problems } = settingsFrom({});
    assert.deepEqual(problems, []);
    assert.equal(settings.epsilon, SETTING_DEFAULTS.epsilon);
    assert.equal(settings.sweep.length, 11);
    assert.deepEqual(settings.engine, {
      failureProbability: 1e-6,
      exactCutoff: 512,
      lanczosSteps: 200,
      threads: 2,
      computeRadius: true,
      radiusTolerance: 0.02,
      composedBudget: 6,
      maxMemoryBytes: 4 * 2 ** 30,
    });
  });

  it('replaces each invalid value by its default and says which setting was wrong', () => {
    const { settings, problems } = settingsFrom({
      epsilon: 0,
      sweep: { min: 1, max: 0.1, points: 5 },
      failureProbability: 0.5,
      maxExactDimension: 12.5,
      lanczosSteps: 3,
      workerThreads: 0,
      computeRadius: 'yes',
      maxMemoryGB: -1,
      radiusTolerance: 0,
      composedBudget: -1,
    });
    assert.equal(settings.epsilon, 0.001);
    assert.equal(settings.engine.failureProbability, 1e-6);
    assert.equal(settings.engine.exactCutoff, 512);
    assert.equal(settings.engine.lanczosSteps, 200);
    assert.equal(settings.engine.computeRadius, true);
    assert.equal(settings.engine.radiusTolerance, 0.02);
    assert.equal(settings.engine.composedBudget, 6);
    const named = problems.map((problem) => /^lipschitzLens\.(\w+)/.exec(problem)?.[1]);
    assert.equal(settings.engine.maxMemoryBytes, 4 * 2 ** 30);
    assert.deepEqual(named, ['epsilon', 'sweep', 'failureProbability', 'maxExactDimension', 'lanczosSteps', 'workerThreads', 'maxMemoryGB', 'radiusTolerance', 'composedBudget', 'computeRadius']);
  });

  it('takes a composed budget of 0 (the composed bound off)', () => {
    const { settings, problems } = settingsFrom({ composedBudget: 0 });
    assert.deepEqual(problems, []);
    assert.equal(settings.engine.composedBudget, 0);
  });

  it('caps worker threads at the number of cores', () => {
    assert.equal(settingsFrom({ workerThreads: 16 }, 4).settings.engine.threads, 4);
    assert.equal(settingsFrom({ workerThreads: 3 }, 4).settings.engine.threads, 3);
    assert.equal(settingsFrom({ workerThreads: null }, 4).settings.engine.threads, 4);
  });
});

describe('package.json contributions', () => {
  it('declares the same defaults and ranges as the settings reader', () => {
    assert.equal(properties['lipschitzLens.epsilon'].default, SETTING_DEFAULTS.epsilon);
    assert.equal(properties['lipschitzLens.epsilon'].exclusiveMinimum, 0);
    assert.deepEqual(properties['lipschitzLens.sweep'].default, SETTING_DEFAULTS.sweep);
    assert.equal(properties['lipschitzLens.workerThreads'].default, SETTING_DEFAULTS.workerThreads);
    assert.equal(properties['lipschitzLens.computeRadius'].default, SETTING_DEFAULTS.computeRadius);
    for (const key of ['failureProbability', 'maxExactDimension', 'lanczosSteps', 'workerThreads', 'maxMemoryGB', 'radiusTolerance', 'composedBudget'] as const) {
      const declared = properties[`lipschitzLens.${key}`];
      assert.ok(declared, `lipschitzLens.${key} is not contributed`);
      if (key !== 'workerThreads') {
        assert.equal(declared.default, SETTING_DEFAULTS[key], `default of ${key}`);
      }
      for (const [bound, value] of Object.entries(SETTING_LIMITS[key])) {
        assert.equal(declared[bound], value, `${bound} of ${key}`);
      }
    }
  });

  it('contributes no setting the reader ignores', () => {
    const read = new Set<string>();
    readLensSettings((key) => {
      read.add(`lipschitzLens.${key}`);
      return undefined;
    }, 1);
    assert.deepEqual(Object.keys(properties).filter((key) => !read.has(key)), []);
  });

  it('contributes exactly the commands in src/shared/ids.ts, each in the Lipschitz Lens category', () => {
    const contributed: { command: string; category: string }[] = manifest.contributes.commands;
    assert.deepEqual(contributed.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
    assert.ok(contributed.every((c) => c.category === 'Lipschitz Lens'));
  });

  it('shows cancel and export in the palette only when they can act', () => {
    const palette: { command: string; when?: string }[] = manifest.contributes.menus.commandPalette;
    const when = (command: string) => palette.find((entry) => entry.command === command)?.when ?? '';
    assert.match(when(COMMANDS.cancelAnalysis), /lipschitzLens\.analysisRunning/);
    assert.match(when(COMMANDS.exportReport), /lipschitzLens\.hasResults/);
    assert.match(when(COMMANDS.analyze), /activeCustomEditorId == lipschitzLens\.modelEditor/);
  });
});
