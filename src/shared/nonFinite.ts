// VS Code carries messages between the extension host and a webview, and keeps workspaceState and a
// webview's saved state, as JSON, where ∞ and NaN become null: an overflowed bound (docs/derivations.md
// §57) would arrive as null. Every such crossing encodes them as a marker object and revives them after.

const MARKER = '$nonFinite';

type Encoded = { [MARKER]: 'Infinity' | '-Infinity' | 'NaN' };

function isMarker(value: object): value is Encoded {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === MARKER && typeof (value as Encoded)[MARKER] === 'string';
}

/** A copy of a JSON-shaped value with every ±∞ and NaN replaced by a marker object (typed arrays kept as they are). */
export function encodeNonFinite<T>(value: T): T {
  return walk(value, (v) => (typeof v === 'number' && !Number.isFinite(v) ? { [MARKER]: String(v) } : undefined)) as T;
}

/** The inverse of encodeNonFinite: markers become numbers again; anything else is returned as it came. */
export function reviveNonFinite<T>(value: T): T {
  return walk(value, (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && isMarker(v) ? Number(v[MARKER]) : undefined)) as T;
}

function walk(value: unknown, replace: (v: unknown) => unknown): unknown {
  const replaced = replace(value);
  if (replaced !== undefined) return replaced;
  if (Array.isArray(value)) return value.map((item) => walk(item, replace));
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = walk(item, replace);
  return copy;
}
