// The model header: file name, facts from the file, unsupported nodes with their reasons, and the
// notes on how the graph was read (from the model and from the last report).

import { memo } from 'preact/compat';
import { formatBytes } from '../src/shared/format';
import type { ModelOverview } from '../src/shared/protocol';
import { visible } from './viewText';

export interface HeaderProps {
  model?: ModelOverview;
  modelError?: { fileName: string; message: string };
  reportNotes?: string[];
}

export const Header = memo(function Header({ model, modelError, reportNotes }: HeaderProps) {
  if (modelError) {
    return (
      <header id="header" class="header">
        <h1>{visible(modelError.fileName)}</h1>
        <p class="error">{visible(modelError.message)}</p>
      </header>
    );
  }
  if (!model) {
    return (
      <header id="header" class="header">
        <p class="muted">Reading the model…</p>
      </header>
    );
  }
  const facts: [string, string][] = [];
  if (model.producerName) {
    facts.push(['Producer', [model.producerName, model.producerVersion].filter(Boolean).join(' ')]);
  }
  facts.push(
    ['Opset', model.opsets.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ') || 'none'],
    ['IR version', String(model.irVersion)],
    ['Inputs', model.inputs.join(', ')],
    ['Outputs', model.outputs.join(', ')],
    ['File size', formatBytes(model.sizeBytes)],
    [model.rowSource === 'nodes' ? 'Nodes' : 'Layers', String(model.rows.length)],
  );
  // A report restates how the graph was read, for the input and outputs the analysis actually used
  // (which may differ from the defaults the overview was read with), so its notes replace the model's.
  const notes = reportNotes ?? model.notes;
  return (
    <header id="header" class="header">
      <h1>{visible(model.fileName)}</h1>
      <dl class="facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{visible(value)}</dd>
          </div>
        ))}
      </dl>
      {model.unsupportedSummary && (
        <div class="callout error-callout">
          <strong>{visible(model.unsupportedSummary)}</strong>
          <ul>
            {model.unsupported.map((node, index) => (
              <li key={index}>{visible(`${node.text}: ${node.reason}`)}</li>
            ))}
          </ul>
          <p>
            {model.rowSource === 'prefix'
              ? 'The table shows the supported layers before the first of them; the model cannot be analyzed as a whole.'
              : 'The model cannot be analyzed; the table lists its graph nodes.'}
          </p>
        </div>
      )}
      {notes.length > 0 && (
        <ul class="notes">
          {notes.map((note, index) => (
            <li key={index}>{visible(note)}</li>
          ))}
        </ul>
      )}
    </header>
  );
});
