// The symbol versions a 64-bit little-endian ELF shared object needs from the libraries it links
// against: its .gnu.version_r section (SHT_GNU_verneed), read directly so no binutils is needed.
// Layouts from the System V gABI and the LSB's symbol versioning chapter.

const SHT_GNU_VERNEED = 0x6ffffffe;

export interface VersionNeed {
  /** The library the versions are needed from, e.g. "libc.so.6". */
  file: string;
  /** Version names, e.g. "GLIBC_2.14". */
  versions: string[];
}

export function elfVersionNeeds(elf: Buffer): VersionNeed[] {
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('only 64-bit little-endian ELF is read');
  const sectionHeaders = Number(elf.readBigUInt64LE(0x28));
  const sectionHeaderSize = elf.readUInt16LE(0x3a);
  const sectionCount = elf.readUInt16LE(0x3c);
  const section = (index: number) => {
    const at = sectionHeaders + index * sectionHeaderSize;
    return { type: elf.readUInt32LE(at + 4), offset: Number(elf.readBigUInt64LE(at + 0x18)), link: elf.readUInt32LE(at + 0x28), info: elf.readUInt32LE(at + 0x2c) };
  };
  const needs: VersionNeed[] = [];
  for (let index = 0; index < sectionCount; index++) {
    const verneed = section(index);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link).offset;
    const text = (offset: number) => elf.toString('latin1', strings + offset, elf.indexOf(0, strings + offset));
    // sh_info entries of Elf64_Verneed {vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32},
    // each with vn_cnt Elf64_Vernaux {vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32}.
    for (let entry = verneed.offset, left = verneed.info; left > 0; left--) {
      const count = elf.readUInt16LE(entry + 2);
      const versions: string[] = [];
      for (let aux = entry + elf.readUInt32LE(entry + 8), n = 0; n < count; n++) {
        versions.push(text(elf.readUInt32LE(aux + 8)));
        aux += elf.readUInt32LE(aux + 12);
      }
      needs.push({ file: text(elf.readUInt32LE(entry + 4)), versions });
      entry += elf.readUInt32LE(entry + 12);
    }
  }
  return needs;
}

/** Compares dotted version numbers ("2.28" < "2.3.2" is false: 28 > 3). */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const difference = (x[i] ?? 0) - (y[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
