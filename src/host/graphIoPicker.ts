// "Choose inputs and outputs…": for a model with several graph inputs or outputs, which input the
// bounds are taken with respect to, the values the other inputs are held at, and which outputs are
// bounded (the view's and the palette's counterpart of the CLI's --input-name, --fixed and --output).

import * as vscode from 'vscode';
import type { GraphIoChoice } from '../shared/protocol';

export interface GraphNames {
  inputs: string[];
  outputs: string[];
}

/** Names a choice refers to that the model does not have (a choice passed by a task or test). */
export function unknownGraphNames(choice: GraphIoChoice, names: GraphNames): string[] {
  const inputs = [choice.inputName, ...(choice.fixedInputs ?? []).map((f) => f.name)].filter((n): n is string => n !== undefined);
  return [...inputs.filter((n) => !names.inputs.includes(n)).map((n) => `input '${n}'`), ...(choice.outputs ?? []).filter((n) => !names.outputs.includes(n)).map((n) => `output '${n}'`)];
}

/**
 * Asks, step by step, only what the model leaves open: the analysed input (several inputs), each
 * other input's value (zeros or a file), the outputs (several outputs). Undefined when dismissed.
 */
export async function pickGraphIo(
  fileName: string,
  names: GraphNames,
  current: GraphIoChoice | undefined,
  pickValueFile: (inputName: string) => Promise<string | undefined>,
): Promise<GraphIoChoice | undefined> {
  const choice: GraphIoChoice = {};
  if (names.inputs.length > 1) {
    const analysed = current?.inputName ?? names.inputs[0];
    const picked = await vscode.window.showQuickPick(
      names.inputs.map((name) => ({ label: name, description: name === analysed ? 'current' : undefined })),
      { title: `${fileName}: bound with respect to which input?`, placeHolder: 'The other inputs are held fixed' },
    );
    if (!picked) return undefined;
    choice.inputName = picked.label;
    choice.fixedInputs = [];
    for (const name of names.inputs.filter((n) => n !== picked.label)) {
      const known = current?.fixedInputs?.find((f) => f.name === name);
      const items = [
        { label: 'Zeros', description: 'of its declared shape', value: 'zeros' },
        { label: 'Choose a file…', description: '.npy or .json', value: 'file' },
        ...(known ? [{ label: `Keep ${vscode.workspace.asRelativePath(known.path)}`, description: 'current', value: 'keep' }] : []),
      ];
      const how = await vscode.window.showQuickPick(items, { title: `${fileName}: hold input '${name}' at…` });
      if (!how) return undefined;
      if (how.value === 'keep' && known) choice.fixedInputs.push(known);
      if (how.value === 'file') {
        const path = await pickValueFile(name);
        if (!path) return undefined;
        choice.fixedInputs.push({ name, path });
      }
    }
  }
  if (names.outputs.length > 1) {
    const bounded = new Set(current?.outputs?.length ? current.outputs : names.outputs);
    const picked = await vscode.window.showQuickPick(
      names.outputs.map((name) => ({ label: name, picked: bounded.has(name) })),
      { title: `${fileName}: bound which outputs? (several are stacked into one vector)`, canPickMany: true },
    );
    if (!picked || picked.length === 0) return undefined;
    if (picked.length < names.outputs.length) choice.outputs = picked.map((item) => item.label);
  }
  return choice;
}

/** "input 'x'; 'h' from h.npy, 'c' at zeros; outputs 'y1', 'y2'": for the log and the status. */
export function describeGraphIo(choice: GraphIoChoice, names: GraphNames): string {
  const input = choice.inputName ?? names.inputs[0];
  const held = names.inputs
    .filter((n) => n !== input)
    .map((n) => {
      const file = choice.fixedInputs?.find((f) => f.name === n)?.path;
      return `'${n}' ${file ? `from ${vscode.workspace.asRelativePath(file)}` : 'at zeros'}`;
    });
  const outputs = choice.outputs ?? names.outputs;
  return `input '${input}'${held.length > 0 ? `; ${held.join(', ')}` : ''}; output${outputs.length === 1 ? '' : 's'} ${outputs.map((o) => `'${o}'`).join(', ')}`;
}
