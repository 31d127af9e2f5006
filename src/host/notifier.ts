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

type Severity = 'error' | 'warning' | 'info';

const SHOW: Record<Severity, (sentence: string, ...titles: string[]) => Thenable<string | undefined>> = {
  error: (sentence, ...titles) => vscode.window.showErrorMessage(sentence, ...titles),
  warning: (sentence, ...titles) => vscode.window.showWarningMessage(sentence, ...titles),
  info: (sentence, ...titles) => vscode.window.showInformationMessage(sentence, ...titles),
};

export class Notifier {
  private readonly lastShown: Partial<Record<Severity, ShownNotification>> = {};
  /** A test's answer to the next notification whose sentence contains `matching` (testingApi.ts). */
  private answer: { matching: string; title: string } | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The last error sentence shown to the user (read by the testing API). */
  get lastError(): string | undefined {
    return this.lastShown.error?.message;
  }

  get lastErrorNotification(): ShownNotification | undefined {
    return this.lastShown.error;
  }

  get lastWarningNotification(): ShownNotification | undefined {
    return this.lastShown.warning;
  }

  get lastInfoNotification(): ShownNotification | undefined {
    return this.lastShown.info;
  }

  /**
   * Lets an integration test press a button of the next notification whose sentence contains
   * `matching`, as a click would, without waiting for the workbench to draw the toast.
   */
  answerNext(matching: string, title: string): void {
    this.answer = { matching, title };
  }

  /** An error toast: the sentence, the given actions and Show Log. */
  error(sentence: string, cause?: unknown, actions: readonly UserAction[] = []): void {
    this.log.error(cause === undefined ? sentence : `${sentence}\n${errorDetail(cause)}`);
    this.show('error', sentence, [...actions, { title: SHOW_LOG, run: () => this.log.show() }]);
  }

  /** A warning toast (the sentence is in the log too). */
  warn(sentence: string, actions: readonly UserAction[] = []): void {
    this.log.warn(sentence);
    this.show('warning', sentence, actions);
  }

  info(sentence: string, actions: readonly UserAction[] = []): void {
    this.log.info(sentence);
    this.show('info', sentence, actions);
  }

  private show(severity: Severity, sentence: string, actions: readonly UserAction[]): void {
    const titles = actions.map((action) => action.title);
    this.lastShown[severity] = { message: sentence, actions: titles };
    const answer = this.answer && sentence.includes(this.answer.matching) ? this.answer.title : undefined;
    if (answer !== undefined) this.answer = undefined;
    const choice = answer !== undefined ? Promise.resolve(answer) : SHOW[severity](sentence, ...titles);
    void choice.then((title) => actions.find((action) => action.title === title)?.run());
  }
}
