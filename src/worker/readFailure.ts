// What the editor says when a model file cannot be read. The reader's own message names the protobuf
// field and byte offset, which helps whoever debugs the file but means nothing to someone who only
// opened it: the user gets a sentence about the file, the reader's message goes to the log as detail.
import { basename } from 'node:path';
import { OnnxError } from '../onnx/onnxError';
import { escapeControlCharacters } from '../shared/format';
import { RequestError, toErrorPayload } from '../shared/rpc';

/** Reader messages that describe the encoding rather than the model. */
const ENCODING_PROBLEM = /protobuf|ModelProto|is truncated/;

export function readFailure(error: unknown, path: string): RequestError {
  const payload = toErrorPayload(error);
  if (!(error instanceof OnnxError) || (error.offset === undefined && !ENCODING_PROBLEM.test(error.message))) {
    return new RequestError(payload.code, payload.message, payload.detail);
  }
  const file = escapeControlCharacters(basename(path));
  const what = /is truncated/.test(error.message)
    ? 'the file ends before the model does, as an interrupted download or copy leaves it'
    : 'its contents are not an ONNX model (the file is damaged, or another kind of file)';
  return new RequestError(
    'failed',
    `${file} cannot be opened: ${what}. Export or copy the model again; the reader's details are in the engine log.`,
    error.message,
  );
}
