// What the user sees when something fails or finishes: one sentence, with buttons for what to do next
// (the details of a failure are in the log channel, one button away).

import * as vscode from 'vscode';
import { CONFIGURATION_SECTION } from '../shared/ids';
import { errorDetail } from '../shared/rpc';

const SHOW_LOG = 'Show Log';

/** A button on a notification and what it does. */
export interface UserAction {
  title: string;
  run(): unknown;
}

/** A button that opens the Settings editor at `setting` (e.g. "lipschitzLens.maxMemoryGB"), or at all of this extension's settings. */
export function openSettingsAction(setting = CONFIGURATION_SECTION): UserAction {
  return { title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', setting) };
}

/** A notification as shown: its sentence and button titles (read by the testing API). */
export interface ShownNotification {
  message: string;
  actions: string[];
}

export class Notifier {
  private lastErrorShown: ShownNotification | undefined;
  private lastInfoShown: ShownNotification | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The last error sentence shown to the user (read by the testing API). */
  get lastError(): string | undefined {
    return this.lastErrorShown?.message;
  }

  get lastErrorNotification(): ShownNotification | undefined {
    return this.lastErrorShown;
  }

  get lastInfoNotification(): ShownNotification | undefined {
    return this.lastInfoShown;
  }

  /** An error toast: the sentence, the given actions and Show Log. */
  error(sentence: string, cause?: unknown, actions: readonly UserAction[] = []): void {
    this.log.error(cause === undefined ? sentence : `${sentence}\n${errorDetail(cause)}`);
    const all = [...actions, { title: SHOW_LOG, run: () => this.log.show() }];
    this.lastErrorShown = { message: sentence, actions: all.map((action) => action.title) };
    void vscode.window.showErrorMessage(sentence, ...all.map((action) => action.title)).then((choice) => run(all, choice));
  }

  info(sentence: string, actions: readonly UserAction[] = []): void {
    this.log.info(sentence);
    this.lastInfoShown = { message: sentence, actions: actions.map((action) => action.title) };
    void vscode.window.showInformationMessage(sentence, ...actions.map((action) => action.title)).then((choice) => run(actions, choice));
  }
}

function run(actions: readonly UserAction[], choice: string | undefined): void {
  void actions.find((action) => action.title === choice)?.run();
}
