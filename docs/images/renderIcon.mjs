// Renders docs/images/icon.svg to the extension's 128×128 icon, docs/images/icon.png, in the Chromium
// the integration tests use (playwright-core from test/host; Debian's chromium, or LIPSCHITZ_TEST_CHROMIUM).
//   node docs/images/renderIcon.mjs
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, '..', '..', 'test', 'host', 'package.json'))('playwright-core');
const svg = await readFile(join(here, 'icon.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.LIPSCHITZ_TEST_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  await page.locator('svg').screenshot({ path: join(here, 'icon.png'), omitBackground: true });
} finally {
  await browser.close();
}
console.log(`wrote ${join(here, 'icon.png')}`);
