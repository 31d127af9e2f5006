// The analysis view's layer table, as the integration tests read it.
import { clickInWebview, waitFor, webviewTexts } from './probe';

/** The table row of layer `index` in the webview's text: its cells, tab-separated by innerText. */
export function tableRow(text: string, index: number, label: string): string[] | undefined {
  return text
    .split('\n')
    .map((line) => line.split('\t').map((cell) => cell.trim()))
    .find((cells) => cells[0] === String(index) && cells[1] === label);
}

/**
 * The view opens as a graph; these tests read the layer table, one click away. Clicked until the
 * model's own view shows it: a just-closed editor's webview can linger for a moment and take the click.
 */
export async function showTable(fileName: string): Promise<void> {
  await waitFor(`the layer table of ${fileName}`, async () => {
    await clickInWebview('#view-table').catch(() => undefined);
    return (await webviewTexts()).some((text) => text.includes(fileName) && text.includes('Shape in → out'));
  });
}
