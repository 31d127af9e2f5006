// The Details page a user sees after installing the .vsix: the packaged readme (EXTENSION.md, images
// inlined by packaging/extensionReadme.mjs) rendered by VS Code's extension editor, with its screenshot
// loaded and our icon in the header. Runs against the unpacked package, not the repository, whose
// README.md is the developers' page.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from '../../src/shared/ids';
import { images, screenshot, waitFor, waitForWebviewText, type ImageState } from '../integration/probe';

describe('the packaged extension', () => {
  it('has a Details page with the product text, a loaded screenshot and its icon', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not loaded`);
    assert.match(extension.extensionPath, /[\\/]extension$/, 'the extension under test is the unpacked .vsix');

    await vscode.commands.executeCommand('extension.open', EXTENSION_ID);
    const text = await waitForWebviewText((shown) => shown.includes('Analyze a model in three steps'), 60_000);
    assert.match(text, /How much can your network's output move when its input moves a little\?/);
    assert.match(text, /lipschitzLens\.epsilon/, 'the settings table');
    assert.doesNotMatch(text, /npm ci|npm run demo/, 'no developer commands on the product page');

    const screenshotImage = await waitFor(
      'the analysis-view screenshot of the Details page to load',
      async () => {
        const shown = (await images()).webviews.flat();
        const image = shown.find((candidate) => candidate.alt.startsWith('The analysis view'));
        return image && image.complete && image.naturalWidth > 0 ? image : undefined;
      },
      30_000,
    );
    assert.deepEqual([screenshotImage.naturalWidth, screenshotImage.naturalHeight], [1400, 900]);

    const icon = await waitFor('the icon in the Details page header', async () =>
      (await images()).workbench.find((image: ImageState) => /\bicon\b/.test(image.className) && image.complete && image.naturalWidth === 128),
    );
    assert.ok(icon.src, 'the icon has a source');
    await screenshot('details-page');
  });
});
