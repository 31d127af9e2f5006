// The files beside a model that may hold its example input, in the order they are tried: names after
// the model first, then the folder-wide sample (which may belong to another model of the folder).
// Shared by the engine, which reads them, and the host, which watches them.

export function exampleInputNames(modelFileName: string): string[] {
  const stem = modelFileName.replace(/\.[^.]*$/, '');
  return [`${stem}.npy`, `${stem}.input.npy`, `${stem}.input.json`, `${stem}.json`, 'sample-input.json', 'sample-input.npy'];
}
