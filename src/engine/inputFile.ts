// Reads a nominal input file (.npy or .json) from disk; the parsing itself is in nominalInput.ts.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { InputError, parseJsonInput, parseNpy, type NominalInput } from './nominalInput';

export async function readNominalInputFile(path: string): Promise<NominalInput> {
  const name = basename(path);
  const extension = extname(path).toLowerCase();
  if (extension !== '.npy' && extension !== '.json') {
    throw new InputError(`${name}: the nominal input must be a .npy or .json file.`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`${name}: cannot read the nominal input (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  return extension === '.npy' ? parseNpy(bytes, name) : parseJsonInput(new TextDecoder().decode(bytes), name);
}
