// The webview page: a strict CSP, one nonce'd script, nothing inline, nothing remote.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentSecurityPolicy, createNonce, renderWebviewHtml } from '../../src/host/webviewHtml';

const parts = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'abc123',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
  title: 'model<1>.onnx',
};

describe('webview HTML', () => {
  it('denies everything by default and allows scripts only by nonce', () => {
    const policy = contentSecurityPolicy(parts.cspSource, parts.nonce);
    assert.match(policy, /^default-src 'none'; /);
    assert.match(policy, /script-src 'nonce-abc123'/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*/);
  });

  it('loads exactly one script, with the nonce, from dist', () => {
    const html = renderWebviewHtml(parts);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0][1], /nonce="abc123"/);
    assert.match(scripts[0][1], /src="[^"]*\/dist\/webview\.js"/);
    assert.match(html, /<link rel="stylesheet" href="[^"]*\/dist\/webview\.css">/);
    assert.doesNotMatch(html, /style="/, 'no inline styles');
    assert.match(html, /<title>model&lt;1&gt;\.onnx<\/title>/, 'the file name is escaped');
  });

  it('has the element the view renders into, before the script that renders it', () => {
    const html = renderWebviewHtml(parts);
    assert.match(html, /<div id="app" class="app"><\/div>\n<script nonce=/);
  });

  it('makes a fresh nonce every time', () => {
    const nonces = new Set(Array.from({ length: 20 }, createNonce));
    assert.equal(nonces.size, 20);
    for (const nonce of nonces) {
      assert.match(nonce, /^[A-Za-z0-9_-]{24}$/);
    }
  });
});
