// Runs the integration tests inside a real VS Code without downloading one: the VS Code server bundled
// in the npm package code-server serves the workbench and a real Node extension host; Debian's Chromium,
// driven by playwright-core, renders the workbench. The tests are handed over through the workbench URL
// (extensionDevelopmentPath / extensionTestsPath), and their exit code comes back via codeAutomationExit.
//
// Usage: node test/host/run.mjs [--extension DIR] [--tests FILE] [--workspace DIR] [--install VSIX] [--timeout-ms N] [--keep]
// --install installs a .vsix into the server first, as a user would (the extension editor's Details
// page only opens for installed extensions, not for one under development).
// Install first with test/host/setup.sh.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const hostDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(hostDir, '..', '..');
const require = createRequire(import.meta.url);

const { values: options } = parseArgs({
  options: {
    extension: { type: 'string', default: repoRoot },
    tests: { type: 'string', default: join(repoRoot, 'out', 'test', 'integration', 'index.js') },
    workspace: { type: 'string', default: join(repoRoot, 'test', 'fixtures') },
    screenshots: { type: 'string', default: join(repoRoot, 'out', 'screenshots') },
    // A guard against a hung run, not a speed requirement: the whole suite takes about 5 minutes on this
    // shared 2-core machine under load, so the guard sits well above it.
    'timeout-ms': { type: 'string', default: process.env.LIPSCHITZ_TEST_TIMEOUT_MS ?? '900000' },
    keep: { type: 'boolean', default: false },
    install: { type: 'string' },
  },
});
const extensionPath = resolve(options.extension);
const testsPath = resolve(options.tests);
const screenshotDir = resolve(options.screenshots);
const timeoutMs = Number(options['timeout-ms']);
const chromiumPath = process.env.LIPSCHITZ_TEST_CHROMIUM ?? '/usr/bin/chromium';

// The workbench logs through codeAutomationLog too, with no prefix to tell it from the extension host's
// console; these are its routine lines in this setup (the 404 is its own service worker, which the VS Code
// server does not serve; webviews register theirs separately and work).
const workbenchChatter = [
  /^Ignoring fetching additional builtin extensions from gallery/,
  /^Updating additional builtin extensions cache/,
  /^Creating a socket \(renderer-/,
  /^Resolv(?:ing|ed) connection token /,
  /^ChatSessionStore: /,
  /^\[Service Worker\] registration,.*serviceWorker\.js'\): A bad HTTP response code \(404\)/,
];

// A failure of the run itself, reported by its message alone; anything else is reported with its stack.
class HostError extends Error {}

const cleanups = [];
let cleaningUp;
function cleanUp() {
  cleaningUp ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`test host: cleanup step failed: ${error.message}`);
      }
    }
  })();
  return cleaningUp;
}

async function freePort() {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitUntilListening(port, serverProcess, deadline) {
  while (Date.now() < deadline) {
    if (serverProcess.exitCode !== null) {
      throw new HostError(`the VS Code server exited with code ${serverProcess.exitCode} before listening`);
    }
    const listening = await new Promise((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (listening) {
      return;
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new HostError(`the VS Code server did not listen on port ${port} in time`);
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') {
      throw error;
    }
  }
}

async function stopServer(serverProcess) {
  if (serverProcess.exitCode !== null || serverProcess.signalCode !== null) {
    killGroup(serverProcess, 'SIGKILL');
    return;
  }
  const exited = once(serverProcess, 'exit');
  killGroup(serverProcess, 'SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), new Promise((done) => setTimeout(done, 3000, false))]);
  // The extension host and pty host are in the same process group; make sure none outlives the run.
  killGroup(serverProcess, 'SIGKILL');
  if (!graceful) {
    await exited;
  }
}

// Tests cannot see webview content from the extension host; this endpoint reads it from the page.
function startProbe(getPage) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const reply = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    try {
      const page = getPage();
      if (!page) {
        reply(503, { error: 'the workbench page is not open yet' });
      } else if (request.method === 'GET' && url.pathname === '/webview-texts') {
        reply(200, await webviewTexts(page));
      } else if (request.method === 'GET' && url.pathname === '/images') {
        reply(200, await images(page));
      } else if (request.method === 'GET' && url.pathname === '/workbench-elements') {
        reply(200, await workbenchElements(page, url.searchParams.get('selector') ?? ''));
      } else if (request.method === 'GET' && url.pathname === '/webview-widths') {
        reply(200, await webviewWidths(page));
      } else if (request.method === 'POST' && url.pathname === '/viewport') {
        const width = Number(url.searchParams.get('width'));
        const height = Number(url.searchParams.get('height'));
        if (!(width >= 320 && width <= 4096 && height >= 240 && height <= 4096)) {
          reply(400, { error: `viewport ${width}×${height} is outside 320–4096 × 240–4096` });
          return;
        }
        await page.setViewportSize({ width, height });
        reply(200, { width, height });
      } else if (request.method === 'POST' && ['/click', '/hover', '/fill', '/press', '/select'].includes(url.pathname)) {
        const selector = url.searchParams.get('selector') ?? '';
        const failure = await actInWebview(page, url.pathname.slice(1), selector, url.searchParams.get('value') ?? '');
        reply(failure ? 404 : 200, failure ? { error: failure } : { selector });
      } else if (request.method === 'POST' && url.pathname === '/screenshot') {
        const name = url.searchParams.get('name') ?? '';
        if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) {
          reply(400, { error: `screenshot name "${name}" must be letters, digits, '.', '_' or '-'` });
          return;
        }
        await mkdir(screenshotDir, { recursive: true });
        const path = join(screenshotDir, `${name}.png`);
        await page.screenshot({ path, type: 'png' });
        reply(200, { path });
      } else {
        reply(404, { error: `no probe route ${request.method} ${url.pathname}` });
      }
    } catch (error) {
      reply(500, { error: String(error?.message ?? error) });
    }
  });
  server.listen(0, '127.0.0.1');
  return server;
}

async function activeWebviewFrames(page) {
  const frames = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame()) {
      continue;
    }
    try {
      // A webview shows its document in an inner frame whose id turns from pending-frame to active-frame
      // once loaded. Playwright keeps the name a frame had when it attached, and the sandboxed frame
      // cannot see its own element, so read the id from the parent side.
      const element = await frame.frameElement();
      if ((await element.getAttribute('id')) === 'active-frame') {
        frames.push(frame);
      }
    } catch {
      // The frame went away between listing and reading it: it no longer shows anything.
    }
  }
  return frames;
}

async function webviewTexts(page) {
  const texts = [];
  for (const frame of await activeWebviewFrames(page)) {
    try {
      texts.push(await frame.evaluate(() => document.body?.innerText ?? ''));
    } catch {
      // The frame went away while being read.
    }
  }
  return texts;
}

// Every image of the workbench page and of each open webview, with whether it loaded (naturalWidth is
// 0 for a broken or removed source).
async function images(page) {
  const list = () => [...document.images].map((image) => ({
    alt: image.alt,
    className: image.className,
    src: image.getAttribute('src')?.slice(0, 80) ?? null,
    complete: image.complete,
    naturalWidth: image.naturalWidth,
    naturalHeight: image.naturalHeight,
  }));
  const webviews = [];
  for (const frame of await activeWebviewFrames(page)) {
    try {
      webviews.push(await frame.evaluate(list));
    } catch {
      // The frame went away while being read.
    }
  }
  return { workbench: await page.evaluate(list), webviews };
}

// The workbench's own elements matching a selector (editor title actions, notification toasts): their
// text and aria-label, as a user sees or a screen reader reads them.
async function workbenchElements(page, selector) {
  return page.locator(selector).evaluateAll((elements) =>
    elements.map((element) => ({ text: element.innerText ?? '', label: element.getAttribute('aria-label') ?? '' })),
  );
}

// The page widths of every open webview, to check that nothing makes a view scroll sideways.
async function webviewWidths(page) {
  const widths = [];
  for (const frame of await activeWebviewFrames(page)) {
    try {
      widths.push(
        await frame.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          text: document.body?.innerText.slice(0, 200) ?? '',
        })),
      );
    } catch {
      // The frame went away while being read.
    }
  }
  return widths;
}

// Acts like a user on the first visible element matching the selector in an open webview:
// 'click', 'hover', 'fill' (types the value and presses Enter, which submits a form), or 'press'
// (focuses the element and presses the key, e.g. "Control+f") or 'select' (chooses the option of a <select> with that value).
// Returns undefined when done, else why not.
async function actInWebview(page, action, selector, value) {
  const problems = [];
  for (const frame of await activeWebviewFrames(page)) {
    const target = frame.locator(selector).first();
    try {
      if ((await target.count()) === 0) {
        problems.push('no match');
        continue;
      }
      if (!(await target.isVisible())) {
        problems.push('matched but not visible');
        continue;
      }
      if (action === 'click') {
        await target.click({ timeout: 5000 });
      } else if (action === 'hover') {
        await target.hover({ timeout: 5000 });
      } else if (action === 'press') {
        await target.press(value, { timeout: 5000 });
      } else if (action === 'select') {
        await target.selectOption(value, { timeout: 5000 });
      } else {
        await target.fill(value, { timeout: 5000 });
        await target.press('Enter', { timeout: 5000 });
      }
      return undefined;
    } catch (error) {
      // The frame went away or the element was replaced: try the next frame.
      problems.push(String(error?.message ?? error).split('\n')[0]);
    }
  }
  return `no open webview could ${action} "${selector}" (${problems.join('; ') || 'no webview open'})`;
}

function workbenchUrl(port, folder) {
  const remote = (path) => `vscode-remote://127.0.0.1:${port}${path}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(testsPath)],
    ['skipWelcome', 'true'],
  ];
  const query = new URLSearchParams({ folder, payload: JSON.stringify(payload) });
  return `http://127.0.0.1:${port}/?${query}`;
}

function forwardLog(level, message) {
  const text = String(message);
  if (workbenchChatter.some((pattern) => pattern.test(text))) {
    return;
  }
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${text}\n`);
}

async function main() {
  const serverMain = join(dirname(require.resolve('code-server/package.json')), 'lib', 'vscode', 'out', 'server-main.js');
  await readFile(testsPath).catch(() => {
    throw new HostError(`no test module at ${testsPath}: build the integration tests first (node esbuild.mjs --tests)`);
  });

  const scratch = await mkdtemp(join(tmpdir(), 'lipschitz-vscode-'));
  cleanups.push(() => (options.keep ? console.error(`test host: kept ${scratch}`) : rm(scratch, { recursive: true, force: true })));
  const dirs = Object.fromEntries(
    ['home', 'serverData', 'userData', 'extensions', 'workspace'].map((name) => [name, join(scratch, name)]),
  );
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
  // Tests may write next to the fixtures; they work on a copy so the repository stays clean.
  await cp(resolve(options.workspace), dirs.workspace, { recursive: true });

  let page;
  const probe = startProbe(() => page);
  cleanups.push(() => new Promise((done) => probe.close(done)));
  await once(probe, 'listening');
  const probeUrl = `http://127.0.0.1:${probe.address().port}`;

  const serverEnv = {
    ...process.env,
    EXTENSIONS_GALLERY: '{}',
    HOME: dirs.home,
    XDG_CONFIG_HOME: join(dirs.home, '.config'),
    XDG_DATA_HOME: join(dirs.home, '.local', 'share'),
    XDG_CACHE_HOME: join(dirs.home, '.cache'),
    LIPSCHITZ_TEST_PROBE_URL: probeUrl,
  };
  const dataDirs = ['--server-data-dir', dirs.serverData, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  if (options.install) {
    const installed = spawnSync(process.execPath, [serverMain, ...dataDirs, '--accept-server-license-terms', '--install-extension', resolve(options.install)], {
      env: serverEnv,
      encoding: 'utf8',
    });
    if (installed.status !== 0) {
      throw new HostError(`installing ${options.install} failed (code ${installed.status}): ${installed.stderr || installed.stdout}`);
    }
  }

  const port = await freePort();
  const serverLog = createWriteStream(join(scratch, 'server.log'));
  const serverProcess = spawn(
    process.execPath,
    [
      serverMain,
      '--host', '127.0.0.1',
      '--port', String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--enable-smoke-test-driver',
      ...dataDirs,
      '--disable-telemetry',
      '--disable-workspace-trust',
      '--skip-requirements-check',
    ],
    {
      // Own process group, so the extension host and pty host it forks are stopped with it.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The extension host inherits this environment: that is how the tests learn the probe's address.
      env: serverEnv,
    },
  );
  serverProcess.stdout.pipe(serverLog);
  serverProcess.stderr.pipe(serverLog);
  cleanups.push(() => stopServer(serverProcess));
  process.on('exit', () => killGroup(serverProcess, 'SIGKILL'));

  const deadline = Date.now() + timeoutMs;
  await waitUntilListening(port, serverProcess, deadline);

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();

  let reportExit;
  const testsExited = new Promise((done) => (reportExit = done));
  await page.exposeFunction('codeAutomationExit', (code) => reportExit(Number(code)));
  await page.exposeFunction('codeAutomationLog', forwardLog);
  page.on('pageerror', (error) => console.error(`test host: workbench page error: ${error.message}`));
  // Everything the workbench and the webviews print in the browser (CSP violations show up here),
  // for a post-mortem: the folder is kept when the run fails.
  const browserLog = createWriteStream(join(scratch, 'browser.log'));
  page.on('console', (message) => browserLog.write(`[${message.type()}] ${message.location().url} ${message.text()}\n`));

  const failures = [
    new Promise((_, fail) => {
      const timer = setTimeout(
        () => fail(new HostError(`the integration tests did not finish within ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      timer.unref();
    }),
    once(serverProcess, 'exit').then(([code, signal]) => {
      throw new HostError(`the VS Code server stopped (code ${code}, signal ${signal}) before the tests finished`);
    }),
    once(browser, 'disconnected').then(() => {
      throw new HostError('Chromium closed before the tests finished');
    }),
  ];
  // Only a failed navigation settles this: on success the run ends through codeAutomationExit.
  const navigation = page.goto(workbenchUrl(port, dirs.workspace)).then(() => new Promise(() => {}));
  try {
    return await Promise.race([testsExited, navigation, ...failures]);
  } catch (error) {
    // Keep the scratch folder for a post-mortem, unless the run was interrupted on purpose.
    options.keep = interruptedExitCode === undefined;
    throw new HostError(`${error.message} (server.log and browser.log kept in ${scratch})`);
  }
}

let interruptedExitCode;
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(signal, () => {
    console.error(`test host: ${signal}, stopping`);
    interruptedExitCode = 128 + number;
    cleanUp().finally(() => process.exit(interruptedExitCode));
  });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (interruptedExitCode === undefined) {
    console.error(`test host: ${error instanceof HostError ? error.message : (error.stack ?? error)}`);
  }
} finally {
  await cleanUp();
}
process.exit(interruptedExitCode ?? exitCode);
