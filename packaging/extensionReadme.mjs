// Writes dist/readme.md, the Details page of the packaged extension (`npm run package` hands it to vsce
// with --readme-path): EXTENSION.md with every local image inlined as a data: URI. VS Code renders the
// Details page of an installed .vsix in a webview whose sanitizer keeps only http(s) and data: image
// sources, so a relative link would show a broken image, and without a published repository there is
// no https address to point at.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEDIA_TYPES = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif' };

const source = readFileSync(join(root, 'EXTENSION.md'), 'utf8');
let inlined = 0;
const readme = source.replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (_, alt, link) => {
  if (/^[a-z]+:/i.test(link)) return `![${alt}](${link})`;
  const path = normalize(join(root, link));
  const type = MEDIA_TYPES[extname(path).toLowerCase()];
  if (!path.startsWith(root) || !type) throw new Error(`EXTENSION.md: image ${link} must be a PNG, JPEG or GIF inside the repository`);
  inlined++;
  return `![${alt}](data:${type};base64,${readFileSync(path).toString('base64')})`;
});
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', 'readme.md'), readme);
console.log(`dist/readme.md: EXTENSION.md with ${inlined} image(s) inlined`);
