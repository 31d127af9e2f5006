// The one error type of the ONNX reader. Its message always starts with the file and then says which
// node, tensor or field is at fault, so that a user can find the problem without a debugger.

/**
 * Control characters (C0, DEL, C1, line and paragraph separators, bidirectional overrides) written as
 * \xNN or \uNNNN. Names in a model are arbitrary bytes: raw, an escape sequence in a node name would
 * reach the user's terminal, and a line break would make one error look like two.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export interface OnnxErrorContext {
  /** The model file (or a stand-in such as "<bytes>" when reading from memory). */
  file: string;
  /** What the problem is about, e.g. "initializer 'conv1.weight'" or "node 'conv1' (Conv)". */
  subject?: string;
  /** The protobuf field or attribute at fault, e.g. "raw_data" or "graph.node[3].attribute[0]". */
  field?: string;
  /** Byte offset in the model file, when known. */
  offset?: number;
}

export class OnnxError extends Error {
  readonly file: string;
  readonly subject?: string;
  readonly field?: string;
  readonly offset?: number;

  constructor(detail: string, context: OnnxErrorContext) {
    const where = context.subject ? `${context.subject}: ` : '';
    const at = context.offset !== undefined ? ` (at byte ${context.offset})` : '';
    super(escapeControlCharacters(`${context.file}: ${where}${detail}${at}`));
    this.name = 'OnnxError';
    this.file = context.file;
    this.subject = context.subject;
    this.field = context.field;
    this.offset = context.offset;
  }
}
