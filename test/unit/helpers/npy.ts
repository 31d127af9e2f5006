// .npy files for tests, written as numpy.save writes them.

/** Writes a version-1.0 .npy file the way numpy.save does (header padded to a multiple of 64). */
export function npyBytes(descr: string, shape: number[], values: number[], fortran = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const itemSize = descr.endsWith('8') ? 8 : 4;
  const bytes = new Uint8Array(10 + header.length + values.length * itemSize);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  values.forEach((v, i) => (itemSize === 8 ? view.setFloat64(10 + header.length + 8 * i, v, true) : view.setFloat32(10 + header.length + 4 * i, v, true)));
  return bytes;
}
