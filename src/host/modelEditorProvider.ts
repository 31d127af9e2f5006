// The read-only custom editor for *.onnx: one ModelDocument per file, any number of webview panels
// on it. Tracks which model editor is active, so commands without a file argument know their target.

import * as vscode from 'vscode';
import { CONFIGURATION_SECTION, CONTEXT_KEYS, MODEL_EDITOR_VIEW_TYPE } from '../shared/ids';
import type { HostToWebviewMessage, SweepRange, WebviewMethods, WebviewToHostMessage } from '../shared/protocol';
import { RequestServer, type RequestHandlers } from '../shared/rpc';
import type { EngineClient } from './engineClient';
import { exampleInputNames } from '../shared/exampleInputNames';
import { encodeNonFinite, reviveNonFinite } from '../shared/nonFinite';
import { ModelDocument, type RetainedResults } from './modelDocument';
import { isPinnedRun, type PinnedRunStore } from './pinnedRunStore';
import { createNonce, renderWebviewHtml } from './webviewHtml';

export interface EditorServices {
  engine: EngineClient;
  log: vscode.LogOutputChannel;
  defaultEpsilon(): number;
  /** The sweep form's starting range, from the lipschitzLens.sweep setting. */
  sweepRange(): SweepRange;
  /** Answers the webview's requests about analyses and exports; implemented by the analysis controller. */
  webviewHandlers(document: ModelDocument): RequestHandlers<Omit<WebviewMethods, 'pinRun'>>;
  /** The window's pinned run, which every editor compares against. */
  pinnedRuns: PinnedRunStore;
  /** Observes every message a webview sends (the testing API records them). */
  onWebviewMessage?(document: ModelDocument, message: WebviewToHostMessage): void;
}

const OPEN_TIMEOUT_MS = 30_000;
/** Closed models whose results are kept for reopening, most recent last. */
const RETAINED_MODELS = 16;

interface Retained {
  /** The model file's modification time and size when it was last read: results apply only to those bytes. */
  stamp: string;
  results: RetainedResults;
}

async function fileStamp(uri: vscode.Uri): Promise<string | undefined> {
  try {
    const { mtime, size } = await vscode.workspace.fs.stat(uri);
    return `${mtime}:${size}`;
  } catch {
    return undefined;
  }
}

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  private readonly documents = new Map<string, ModelDocument>();
  private readonly panels = new Map<ModelDocument, Set<vscode.WebviewPanel>>();
  private active: ModelDocument | undefined;
  private readonly activeEmitter = new vscode.EventEmitter<ModelDocument | undefined>();
  private readonly resolvedEmitter = new vscode.EventEmitter<ModelDocument>();
  /** Results of closed editors by model URI. */
  private readonly retained = new Map<string, Retained>();
  /**
   * Whether closing an editor keeps its results. Integration tests start with it off, so that one test's
   * analysis does not show up in the next test's editor of the same model; the test of the feature turns it on.
   */
  keepResultsOnClose = true;
  /**
   * Each open model file's stamp, read before the editor read the file (again). A change while the
   * editor is open clears its results (modelChanged), so results always belong to the stamped bytes.
   */
  private readonly stamps = new WeakMap<ModelDocument, string>();
  /** The list last sent as the unanalyzableModels context key. */
  private unanalyzableList: string[] = [];
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

  async openCustomDocument(uri: vscode.Uri): Promise<ModelDocument> {
    const key = uri.toString();
    const stamp = await fileStamp(uri);
    const restored = this.takeRetained(uri, stamp);
    const document = new ModelDocument(uri, this.context.workspaceState, this.services.defaultEpsilon(), this.services.sweepRange(), restored);
    if (restored) {
      this.services.log.info(`${document.fileName}: showing the results kept from before its editor was closed.`);
    }
    if (stamp) {
      this.stamps.set(document, stamp);
    }
    this.documents.set(key, document);
    const watchers = [this.watchModelFile(document), this.watchExampleInputs(document)];
    const overviewSubscription = document.onDidChange((message) => {
      if (message.kind === 'model' || message.kind === 'modelError') {
        this.updateUnanalyzableContext();
      }
    });
    document.onDidDispose(() => {
      watchers.forEach((watcher) => watcher.dispose());
      overviewSubscription.dispose();
      this.retain(document);
      this.documents.delete(key);
      this.panels.delete(document);
      this.updateUnanalyzableContext();
      if (this.active === document) {
        this.setActive(undefined);
      }
    });
    void document.describe(this.services.engine, this.services.log);
    return document;
  }

  /** Reads a model's overview again (its layers follow the nominal input's shape, which changed). */
  describeAgain(document: ModelDocument): Promise<void> {
    return document.describe(this.services.engine, this.services.log);
  }

  /** Keeps the results of a closing editor, stamped with the file they were computed on. */
  private retain(document: ModelDocument): void {
    const results = document.retainedResults();
    const stamp = this.stamps.get(document);
    const key = document.uri.toString();
    this.retained.delete(key);
    if (!results || !stamp || !this.keepResultsOnClose) {
      return;
    }
    this.retained.set(key, { stamp, results });
    for (const oldest of this.retained.keys()) {
      if (this.retained.size <= RETAINED_MODELS) {
        break;
      }
      this.retained.delete(oldest);
    }
  }

  /** The kept results of `uri` if its file still has the stamp they were computed on (once: the new document owns them). */
  private takeRetained(uri: vscode.Uri, stamp: string | undefined): RetainedResults | undefined {
    const key = uri.toString();
    const kept = this.retained.get(key);
    this.retained.delete(key);
    return kept && stamp === kept.stamp ? kept.results : undefined;
  }

  /**
   * Models known to be beyond the analysis (unsupported nodes, unreadable): the menus' when clauses
   * offer no Analyze for them. Paths as the workbench's resourcePath key gives them: fsPath for file
   * URIs, the URI path for a remote window's.
   */
  private updateUnanalyzableContext(): void {
    const paths = new Set<string>();
    for (const document of this.documents.values()) {
      if (document.unanalyzableReason !== undefined) {
        paths.add(document.uri.fsPath);
        paths.add(document.uri.path);
      }
    }
    const list = [...paths].sort();
    if (JSON.stringify(list) !== JSON.stringify(this.unanalyzableList)) {
      this.unanalyzableList = list;
      void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.unanalyzableModels, list);
    }
  }

  /** The paths the unanalyzableModels context key lists. */
  get unanalyzableModels(): string[] {
    return [...this.unanalyzableList];
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
        void webview.postMessage(encodeNonFinite(message));
      }
    };
    let ready = false;
    const pinnedRuns = this.services.pinnedRuns;
    const server = new RequestServer<WebviewMethods>(
      {
        ...this.services.webviewHandlers(document),
        pinRun: async ({ pinned }) => {
          if (pinned !== null && !isPinnedRun(pinned)) {
            throw new Error('The run to pin is incomplete.');
          }
          await pinnedRuns.pin(pinned ?? undefined);
          return null;
        },
      },
      post,
    );
    const disposables: vscode.Disposable[] = [
      webview.onDidReceiveMessage((received: WebviewToHostMessage) => {
        const message = reviveNonFinite(received);
        this.services.onWebviewMessage?.(document, message);
        if (message.kind === 'ready') {
          // The webview (re)loaded: replay everything it needs, in order.
          ready = true;
          document.snapshot().forEach(post);
          post({ kind: 'pinnedRun', pinned: pinnedRuns.current });
        } else if (message.kind === 'graphDrawn') {
          this.services.log.debug(`${document.fileName}: graph of ${message.boxes} boxes drawn.`);
        } else if (!server.handleMessage(message)) {
          this.services.log.warn(`Ignored a message from the webview of ${document.fileName}.`);
        }
      }),
      document.onDidChange((message) => {
        if (ready) {
          post(message);
        }
      }),
      pinnedRuns.onDidChange((pinned) => {
        if (ready) {
          post({ kind: 'pinnedRun', pinned });
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
      // Unstamped until the new stamp is read: results of a closing editor are then not kept.
      this.stamps.delete(document);
      document.modelChanged();
      void fileStamp(document.uri).then((stamp) => {
        if (stamp) {
          this.stamps.set(document, stamp);
        }
        return document.describe(this.services.engine, this.services.log);
      });
    };
    return vscode.Disposable.from(watcher, watcher.onDidChange(reread), watcher.onDidCreate(reread), watcher.onDidDelete(reread));
  }

  /** The example input files beside the model decide what an analysis uses: name the right one when they change. */
  private watchExampleInputs(document: ModelDocument): vscode.Disposable {
    // Glob characters in the name would make the pattern match other files (or none): then there is no watch.
    if (document.uri.scheme !== 'file' || /[{}[\]*?,]/.test(document.fileName)) {
      return new vscode.Disposable(() => {});
    }
    const folder = vscode.Uri.joinPath(document.uri, '..');
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, `{${exampleInputNames(document.fileName).join(',')}}`));
    const reread = () => void document.describe(this.services.engine, this.services.log);
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
