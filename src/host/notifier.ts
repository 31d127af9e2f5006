// What the user sees when something fails: one sentence, with the details in the log channel.

import * as vscode from 'vscode';
import { errorDetail } from '../shared/rpc';

const SHOW_LOG = 'Show Log';

export class Notifier {
  private lastErrorSentence: string | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The last error sentence shown to the user (read by the testing API). */
  get lastError(): string | undefined {
    return this.lastErrorSentence;
  }

  error(sentence: string, cause?: unknown): void {
    this.lastErrorSentence = sentence;
    this.log.error(cause === undefined ? sentence : `${sentence}\n${errorDetail(cause)}`);
    void vscode.window.showErrorMessage(sentence, SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) {
        this.log.show();
      }
    });
  }

  info(sentence: string): void {
    this.log.info(sentence);
    void vscode.window.showInformationMessage(sentence);
  }
}
