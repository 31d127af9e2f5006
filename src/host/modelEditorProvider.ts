// The read-only custom editor for *.onnx: one ModelDocument per file, any number of webview panels
// on it. Tracks which model editor is active, so commands without a file argument know their target.

import * as vscode from 'vscode';
import { CONFIGURATION_SECTION, MODEL_EDITOR_VIEW_TYPE } from '../shared/ids';
import type { HostToWebviewMessage, SweepRange, WebviewMethods, WebviewToHostMessage } from '../shared/protocol';
import { RequestServer, type RequestHandlers } from '../shared/rpc';
import type { EngineClient } from './engineClient';
import { ModelDocument } from './modelDocument';
import { createNonce, renderWebviewHtml } from './webviewHtml';

export interface EditorServices {
  engine: EngineClient;
  log: vscode.LogOutputChannel;
  defaultEpsilon(): number;
  /** The sweep form's starting range, from the lipschitzLens.sweep setting. */
  sweepRange(): SweepRange;
  /** Answers the webview's requests; implemented by the analysis controller. */
  webviewHandlers(document: ModelDocument): RequestHandlers<WebviewMethods>;
  /** Observes every message a webview sends (the testing API records them). */
  onWebviewMessage?(document: ModelDocument, message: WebviewToHostMessage): void;
}

const OPEN_TIMEOUT_MS = 30_000;

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  private readonly documents = new Map<string, ModelDocument>();
  private readonly panels = new Map<ModelDocument, Set<vscode.WebviewPanel>>();
  private active: ModelDocument | undefined;
  private readonly activeEmitter = new vscode.EventEmitter<ModelDocument | undefined>();
  private readonly resolvedEmitter = new vscode.EventEmitter<ModelDocument>();
  /** Fires when the active model editor changes (undefined: none is active). */
  readonly onDidChangeActiveDocument = this.activeEmitter.event;

  static register(context: vscode.ExtensionContext, services: EditorServices): ModelEditorProvider {
    const provider = new ModelEditorProvider(context, services);
    context.subscriptions.push(
      provider.activeEmitter,
      provider.resolvedEmitter,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${CONFIGURATION_SECTION}.epsilon`)) {
          const epsilon = services.defaultEpsilon();
          provider.documents.forEach((document) => document.refreshDefaults(epsilon));
        }
        if (event.affectsConfiguration(`${CONFIGURATION_SECTION}.sweep`)) {
          const range = services.sweepRange();
          provider.documents.forEach((document) => document.setSweepRange(range));
        }
      }),
      vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, provider, {
        // Hidden editors rebuild from getState and the 'ready' replay instead of holding memory.
        webviewOptions: { retainContextWhenHidden: false },
        supportsMultipleEditorsPerDocument: true,
      }),
    );
    return provider;
  }

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly services: EditorServices,
  ) {}

  get activeDocument(): ModelDocument | undefined {
    return this.active;
  }

  documentFor(uri: vscode.Uri): ModelDocument | undefined {
    return this.documents.get(uri.toString());
  }

  get openDocuments(): readonly ModelDocument[] {
    return [...this.documents.values()];
  }

  /** Opens (or reveals) our editor on `uri` and returns its document once the editor is resolved. */
  async open(uri: vscode.Uri): Promise<ModelDocument> {
    const existing = this.documentFor(uri);
    if (existing && this.panels.get(existing)?.size) {
      await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_EDITOR_VIEW_TYPE);
      return existing;
    }
    const waiting = this.whenResolved(uri);
    try {
      await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_EDITOR_VIEW_TYPE);
    } catch (error) {
      waiting.cancel();
      throw error;
    }
    return waiting.resolved;
  }

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    const document = new ModelDocument(uri, this.context.workspaceState, this.services.defaultEpsilon(), this.services.sweepRange());
    const key = uri.toString();
    this.documents.set(key, document);
    const watcher = this.watchModelFile(document);
    document.onDidDispose(() => {
      watcher.dispose();
      this.documents.delete(key);
      this.panels.delete(document);
      if (this.active === document) {
        this.setActive(undefined);
      }
    });
    void document.describe(this.services.engine, this.services.log);
    return document;
  }

  resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): void {
    const { webview } = panel;
    const distUri = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    webview.options = { enableScripts: true, localResourceRoots: [distUri] };
    webview.html = renderWebviewHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(distUri, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(distUri, 'webview.css')).toString(),
      title: document.fileName,
    });

    let panelDisposed = false;
    // Replies to the webview's requests can arrive after its panel closed: drop them, a closed panel throws.
    const post = (message: HostToWebviewMessage) => {
      if (!panelDisposed) {
        void webview.postMessage(message);
      }
    };
    let ready = false;
    const server = new RequestServer<WebviewMethods>(this.services.webviewHandlers(document), post);
    const disposables: vscode.Disposable[] = [
      webview.onDidReceiveMessage((message: WebviewToHostMessage) => {
        this.services.onWebviewMessage?.(document, message);
        if (message.kind === 'ready') {
          // The webview (re)loaded: replay everything it needs, in order.
          ready = true;
          document.snapshot().forEach(post);
        } else if (!server.handleMessage(message)) {
          this.services.log.warn(`Ignored a message from the webview of ${document.fileName}.`);
        }
      }),
      document.onDidChange((message) => {
        if (ready) {
          post(message);
        }
      }),
      panel.onDidChangeViewState(() => {
        if (panel.active) {
          this.setActive(document);
        } else if (this.active === document && !this.isAnyPanelActive(document)) {
          this.setActive(undefined);
        }
      }),
    ];

    let panels = this.panels.get(document);
    if (!panels) {
      panels = new Set();
      this.panels.set(document, panels);
    }
    panels.add(panel);
    panel.onDidDispose(() => {
      panelDisposed = true;
      disposables.forEach((disposable) => disposable.dispose());
      this.panels.get(document)?.delete(panel);
      if (this.active === document && !this.isAnyPanelActive(document)) {
        this.setActive(undefined);
      }
    });
    if (panel.active) {
      this.setActive(document);
    }
    this.resolvedEmitter.fire(document);
  }

  /** A read-only view must follow the file: re-read it when it changes on disk. */
  private watchModelFile(document: ModelDocument): vscode.Disposable {
    if (document.uri.scheme !== 'file') {
      return new vscode.Disposable(() => {});
    }
    const folder = vscode.Uri.joinPath(document.uri, '..');
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, document.fileName));
    const reread = () => {
      this.services.log.info(`${document.uri.fsPath} changed on disk; reading it again.`);
      document.modelChanged();
      void document.describe(this.services.engine, this.services.log);
    };
    return vscode.Disposable.from(watcher, watcher.onDidChange(reread), watcher.onDidCreate(reread), watcher.onDidDelete(reread));
  }

  private isAnyPanelActive(document: ModelDocument): boolean {
    return [...(this.panels.get(document) ?? [])].some((panel) => panel.active);
  }

  private setActive(document: ModelDocument | undefined): void {
    if (this.active !== document) {
      this.active = document;
      this.activeEmitter.fire(document);
    }
  }

  private whenResolved(uri: vscode.Uri): { resolved: Promise<ModelDocument>; cancel(): void } {
    const key = uri.toString();
    let cancel = () => {};
    const resolved = new Promise<ModelDocument>((resolve, reject) => {
      const timer = setTimeout(() => {
        subscription.dispose();
        reject(new Error(`The Lipschitz Lens editor did not open ${uri.fsPath || key} within ${OPEN_TIMEOUT_MS / 1000} s.`));
      }, OPEN_TIMEOUT_MS);
      const subscription = this.resolvedEmitter.event((document) => {
        if (document.uri.toString() === key) {
          clearTimeout(timer);
          subscription.dispose();
          resolve(document);
        }
      });
      cancel = () => {
        clearTimeout(timer);
        subscription.dispose();
      };
    });
    return { resolved, cancel };
  }
}
