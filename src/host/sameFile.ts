// Whether two paths name the same file on disk, by what they resolve to (device and inode, through
// symbolic and hard links alike), not by their text: the export must never overwrite the model.

import { stat } from 'node:fs/promises';

export async function isSameFile(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  // A path that does not exist yet cannot be the model.
  if (!first || !second) return false;
  return first.dev === second.dev && first.ino === second.ino;
}
