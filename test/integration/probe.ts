// Client of the test host's probe (test/host/run.mjs): webview content and screenshots are only
// visible from the browser page, never from the extension host these tests run in.
import * as vscode from 'vscode';

const probeUrlVariable = 'LIPSCHITZ_TEST_PROBE_URL';

export function probeAvailable(): boolean {
  return Boolean(process.env[probeUrlVariable]);
}

async function callProbe<T>(method: 'GET' | 'POST', route: string): Promise<T> {
  const base = process.env[probeUrlVariable];
  if (!base) {
    throw new Error(`${probeUrlVariable} is unset: webview probing needs the offline test host (npm run test:integration)`);
  }
  const response = await fetch(new URL(route, base), { method });
  const body = (await response.json()) as T | { error: string };
  if (!response.ok) {
    const reason = (body as { error?: string }).error ?? response.statusText;
    throw new Error(`test host probe ${method} ${route} failed (${response.status}): ${reason}`);
  }
  return body as T;
}

/** The visible text (document.body.innerText) of every webview currently open in the workbench. */
export function webviewTexts(): Promise<string[]> {
  return callProbe<string[]>('GET', '/webview-texts');
}

export interface ImageState {
  alt: string;
  className: string;
  /** The first 80 characters of the src attribute; null when the sanitizer removed it. */
  src: string | null;
  complete: boolean;
  /** 0 when the image did not load. */
  naturalWidth: number;
  naturalHeight: number;
}

/** The images of the workbench page itself and of every open webview. */
export function images(): Promise<{ workbench: ImageState[]; webviews: ImageState[][] }> {
  return callProbe('GET', '/images');
}

/** Clicks the first visible element matching a CSS selector in an open webview, as a user would. */
export async function clickInWebview(selector: string): Promise<void> {
  await callProbe('POST', `/click?selector=${encodeURIComponent(selector)}`);
}

/** Moves the mouse over the first visible element matching a CSS selector in an open webview. */
export async function hoverInWebview(selector: string): Promise<void> {
  await callProbe('POST', `/hover?selector=${encodeURIComponent(selector)}`);
}

/** Types `value` into the first visible field matching a CSS selector in an open webview and presses Enter. */
export async function fillInWebview(selector: string, value: string): Promise<void> {
  await callProbe('POST', `/fill?selector=${encodeURIComponent(selector)}&value=${encodeURIComponent(value)}`);
}

/** Focuses the first visible element matching a CSS selector in an open webview and presses a key ("Control+f", "+"). */
export async function pressInWebview(selector: string, key: string): Promise<void> {
  await callProbe('POST', `/press?selector=${encodeURIComponent(selector)}&value=${encodeURIComponent(key)}`);
}

/** Chooses the option with this value in the first visible <select> matching a CSS selector in an open webview. */
export async function selectInWebview(selector: string, value: string): Promise<void> {
  await callProbe('POST', `/select?selector=${encodeURIComponent(selector)}&value=${encodeURIComponent(value)}`);
}

/** Text and aria-label of the workbench's own elements matching a CSS selector (not inside webviews). */
export function workbenchElements(selector: string): Promise<{ text: string; label: string }[]> {
  return callProbe('GET', `/workbench-elements?selector=${encodeURIComponent(selector)}`);
}

/** The document's scroll width and client width in every open webview (with the start of its text, to tell them apart). */
export function webviewWidths(): Promise<{ scrollWidth: number; clientWidth: number; text: string }[]> {
  return callProbe('GET', '/webview-widths');
}

/** Resizes the browser page the workbench runs in (CSS pixels). */
export async function setViewport(width: number, height: number): Promise<void> {
  await callProbe('POST', `/viewport?width=${width}&height=${height}`);
}

/** Saves a PNG of the whole workbench as out/screenshots/<name>.png and returns its path. */
export async function screenshot(name: string): Promise<string> {
  const { path } = await callProbe<{ path: string }>('POST', `/screenshot?name=${encodeURIComponent(name)}`);
  return path;
}

/** Polls until condition() returns a value other than undefined/false; fails naming what it waited for. */
export async function waitFor<T>(
  description: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await new Promise((wait) => setTimeout(wait, intervalMs));
  }
}

/** Waits until some webview's text satisfies predicate and returns that text. */
export async function waitForWebviewText(predicate: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  let seen: string[] = [];
  try {
    return await waitFor(
      'a webview whose text matches',
      async () => {
        seen = await webviewTexts();
        return seen.find(predicate);
      },
      timeoutMs,
    );
  } catch (error) {
    const shown = seen.map((text) => JSON.stringify(text.slice(0, 300))).join(', ') || 'no webview';
    throw new Error(`${(error as Error).message}; webviews showed: ${shown}`);
  }
}

/** Switches the workbench colour theme (user settings), e.g. to screenshot a light and a dark variant. */
export async function setColorTheme(themeLabel: string): Promise<void> {
  const workbench = vscode.workspace.getConfiguration('workbench');
  if (workbench.get<string>('colorTheme') === themeLabel) {
    return;
  }
  let applied = false;
  const listener = vscode.window.onDidChangeActiveColorTheme(() => (applied = true));
  try {
    await workbench.update('colorTheme', themeLabel, vscode.ConfigurationTarget.Global);
    await waitFor(`the colour theme "${themeLabel}" to apply`, () => applied, 10_000);
  } finally {
    listener.dispose();
  }
}
