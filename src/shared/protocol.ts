// Every message that crosses postMessage, as discriminated unions: host↔worker and host↔webview.
// Requests, replies and cancels use the generic envelopes of rpc.ts; the rest are listed here.

import type { EpsilonRun, ProgressEvent, RadiusResult } from './results';
import type { CancelMessage, MethodSpec, ReplyMessage, RequestMessage } from './rpc';

export interface OpsetImport {
  /** "" is the default ONNX domain. */
  domain: string;
  version: number;
}

// ---------------------------------------------------------------------------------------------
// Results: the engine's types (results.ts), wrapped with where the model and input came from.

/** The report of one analysis; the same schema as the CLI's --json output. */
export interface BoundReport {
  /** The model's file name. */
  model: string;
  input: {
    /** "npy", "json", "example" or "synthetic". */
    source: string;
    /** The input file, or a sentence saying how a synthetic input was made. */
    origin: string;
    shape: number[];
  };
  outputSize: number;
  runs: EpsilonRun[];
  radius?: RadiusResult;
  /** How the graph was read, e.g. "Bounds are on the logits 'x', taken before Softmax 's'." */
  notes?: string[];
}

// ---------------------------------------------------------------------------------------------
// What the editor shows before any analysis.

/** One row of the table: a graph node now, an analysis layer once the normaliser is wired in (issue 3). */
export interface LayerRow {
  label: string;
  opTypes: string[];
  nodes: string[];
  /** Declared input → output types and shapes, e.g. "FLOAT[1,3]" (empty when the model does not declare them). */
  inputs: string[];
  outputs: string[];
  /** Elements in the row's weight tensors (initializers and Constant values it reads). */
  parameterCount: number;
  /** Attributes as "name = value", shown on hover. */
  attributes: string[];
}

export interface ModelOverview {
  path: string;
  fileName: string;
  sizeBytes: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: OpsetImport[];
  graphName: string;
  /** Graph inputs and outputs, formatted as "name: FLOAT[1,3,'H',?]". */
  inputs: string[];
  outputs: string[];
  rows: LayerRow[];
}

// ---------------------------------------------------------------------------------------------
// Host ↔ worker

/** Where the nominal input x0 comes from. */
export type InputChoice =
  | { kind: 'file'; path: string }
  | { kind: 'synthetic' }
  /** The example input bundled beside the model (e.g. model.input.json) if there is one, else synthetic. */
  | { kind: 'auto' };

export interface EngineOptions {
  failureProbability: number;
  /** Largest operator dimension that gets an exact dense decomposition. */
  exactCutoff: number;
  lanczosSteps: number;
  /** Threads for onnxruntime inside the worker (issue 5). */
  threads: number;
  computeRadius: boolean;
}

export interface AnalyzeParams {
  modelPath: string;
  /** The ε of the main run. */
  epsilon: number;
  /** Further ε values for the sweep chart; may be empty. */
  sweep: number[];
  input: InputChoice;
  options: EngineOptions;
}

export interface AnalyzeProgress {
  /** What is happening now, e.g. "ε = 0.001: layer conv2 (3/7)". */
  message: string;
  /** Steps done and steps in total (0 total: unknown yet). */
  completed: number;
  total: number;
  event: ProgressEvent;
}

// Type aliases, not interfaces: only aliases satisfy MethodMap's index signature.
export type WorkerMethods = {
  describeModel: MethodSpec<{ path: string }, ModelOverview>;
  analyze: MethodSpec<AnalyzeParams, BoundReport, AnalyzeProgress>;
  /** Test mode only: the worker announces it through progress, then dies abruptly. */
  crashForTest: MethodSpec<{ how: 'exit' | 'throw' }, never, string>;
};

export interface WorkerLogMessage {
  kind: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export type HostToWorkerMessage = RequestMessage<WorkerMethods> | CancelMessage;
export type WorkerToHostMessage = ReplyMessage | WorkerLogMessage;

/** Passed to the worker as workerData. */
export interface EngineWorkerData {
  testMode: boolean;
}

// ---------------------------------------------------------------------------------------------
// Host ↔ webview

export type AnalysisPhase = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';

export interface AnalysisStatus {
  phase: AnalysisPhase;
  epsilon: number;
  /** e.g. "digit.npy" or "synthetic input". */
  inputLabel: string;
  progress?: AnalyzeProgress;
  /** Why it failed, or what was cancelled. */
  message?: string;
}

export type HostToWebviewMessage =
  | ReplyMessage
  | { kind: 'model'; model: ModelOverview }
  | { kind: 'modelError'; fileName: string; message: string }
  | { kind: 'analysisStatus'; status: AnalysisStatus }
  /** undefined: the previous report no longer applies (the model changed on disk). */
  | { kind: 'analysisReport'; report: BoundReport | undefined };

export type WebviewMethods = {
  analyze: MethodSpec<Record<string, never>, { phase: AnalysisPhase }>;
  cancelAnalysis: MethodSpec<Record<string, never>, null>;
};

export type WebviewToHostMessage = { kind: 'ready' } | RequestMessage<WebviewMethods> | CancelMessage;
