// The model's bundled example input, found beside the model without the user choosing one. Files named
// after the model win over the folder-wide sample-input.*: a folder of several models often holds one
// sample that belongs to only one of them. A candidate that cannot be read, or whose shape does not fit
// the model's declared input, is passed over with the reason, so the next candidate (or the synthetic
// input) is used and the user is told why.
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Dim, Model } from '../onnx/model';
import { exampleInputNames } from '../shared/exampleInputNames';
import type { ExampleInputResolution } from '../shared/protocol';
import { readNominalInputFile } from './inputFile';
import type { NominalInput } from './nominalInput';

/** File names, beside the model, that may hold its example input, in the order they are tried. */
export function exampleInputCandidates(modelPath: string): string[] {
  return exampleInputNames(basename(modelPath)).map((name) => join(dirname(modelPath), name));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Why an input of `shape` cannot feed a model input declared as `declared`, or undefined when it can:
 * the same shape (a symbolic or unknown dimension takes any size), the same without the batch axis, or
 * flat with as many values as the fully known declared shape holds (as the engine accepts them).
 */
export function shapeMismatch(shape: readonly number[], declared: readonly Dim[] | undefined): string | undefined {
  if (declared === undefined) return undefined;
  const fits = (dims: readonly Dim[]) => dims.length === shape.length && dims.every((d, i) => typeof d !== 'number' || d < 1 || d === shape[i]);
  if (fits(declared) || fits(declared.slice(1))) return undefined;
  const known = declared.slice(1).every((d) => typeof d === 'number' && d >= 1);
  const count = (declared.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const values = shape.reduce((a, b) => a * b, 1);
  if (known && (shape.length === 1 || (shape.length === 2 && shape[0] === 1)) && values === count) return undefined;
  const shown = declared.map((d) => (d === null ? '?' : String(d))).join(', ');
  return `its shape [${shape.join(', ')}] does not fit the model's input of shape [${shown}]`;
}

export interface ResolvedExampleInput {
  resolution: ExampleInputResolution;
  /** The input read from resolution.path, when there is one. */
  input?: NominalInput;
}

/**
 * The first candidate beside the model that reads as an input and fits the model's declared input
 * shape; the ones passed over on the way, with why.
 */
export async function resolveExampleInput(
  modelPath: string,
  model: Model,
  // The analysed input's declared shape; by default the only graph input's (with several, the caller names the analysed one).
  declared: readonly Dim[] | undefined = model.graph.inputs.length === 1 ? model.graph.inputs[0].shape : undefined,
): Promise<ResolvedExampleInput> {
  const skipped: ExampleInputResolution['skipped'] = [];
  for (const candidate of exampleInputCandidates(modelPath)) {
    if (!(await isFile(candidate))) continue;
    const fileName = basename(candidate);
    let input: NominalInput;
    try {
      input = await readNominalInputFile(candidate);
    } catch (error) {
      skipped.push({ fileName, reason: (error as Error).message });
      continue;
    }
    const mismatch = shapeMismatch(input.shape, declared);
    if (mismatch) {
      skipped.push({ fileName, reason: `${fileName}: ${mismatch}` });
      continue;
    }
    return { resolution: { path: candidate, fileName, shape: input.shape, skipped }, input: { ...input, source: 'example' } };
  }
  return { resolution: { skipped } };
}

/** The sentences a report or the log gives for candidates passed over. */
export function skippedInputNotes(resolution: ExampleInputResolution): string[] {
  return resolution.skipped.map(({ fileName, reason }) => `${fileName} beside the model was not used as its example input: ${reason.replace(/\.$/, '')}.`);
}
