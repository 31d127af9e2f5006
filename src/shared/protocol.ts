// Every message that crosses postMessage, as discriminated unions: host↔worker and host↔webview.
// Requests, replies and cancels use the generic envelopes of rpc.ts; the rest are listed here.

import type { EngineStats, EpsilonRun, FidelityReport, LayerResult, ProgressEvent, RadiusResult } from './results';
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
    /** The graph input the bounds are taken with respect to. */
    name?: string;
    /** "npy", "json", "example" or "synthetic". */
    source: string;
    /** The input file, or a sentence saying how a synthetic input was made. */
    origin: string;
    shape: number[];
    /** ‖x0‖, the Euclidean norm of the nominal input, so ε can be read against the input's size. */
    norm?: number;
  };
  /** The other graph inputs, held fixed: their full shapes and where their values came from ('zeros' or a file). */
  fixedInputs?: { name: string; shape: number[]; source: string }[];
  /** The graph outputs bounded, flattened and concatenated in this order when there are several. */
  outputs?: string[];
  outputSize: number;
  runs: EpsilonRun[];
  radius?: RadiusResult;
  fidelity?: FidelityReport;
  stats?: EngineStats;
  /** How the graph was read, e.g. "Bounds are on the logits 'x', taken before Softmax 's'." */
  notes?: string[];
}

// ---------------------------------------------------------------------------------------------
// What the editor shows before any analysis.

/** One row of the model table: an analysis layer (several ONNX nodes), or a graph node when the analysis cannot read the graph. */
export interface LayerRow {
  label: string;
  opTypes: string[];
  nodes: string[];
  /** Input shapes: batchless analysis shapes ("[1,28,28]") for layers, declared types ("x: FLOAT[1,3]") for graph nodes. */
  inputs: string[];
  outputs: string[];
  /** Elements in the row's weights (after folding, for layers). */
  parameterCount: number;
  /** Attributes of the row's nodes as "name = value" (prefixed "node: " when the row has several nodes), shown on hover. */
  attributes: string[];
}

/** A node the analysis has no rule for. */
export interface UnsupportedRow {
  /** Node name, or "OpType#index" for an unnamed node. */
  label: string;
  opType: string;
  /** How sentences name it: "Resize 'up1'", or "Split #0" for an unnamed node (shared/format.ts nodeText). */
  text: string;
  reason: string;
}

/** Summary statistics of one weight tensor's values. */
export interface WeightStats {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** Fraction of values exactly zero. */
  sparsity: number;
}

/** A tensor at a node's input or output. */
export interface GraphTensor {
  name: string;
  /** "[1,8,28,28]": declared in the file, else as the analysis computed it; absent when unknown. */
  shape?: string;
  /** For an initializer (weight) input: its element type and, for floating types, value statistics. */
  weight?: { dataType: string; size: number; stats?: WeightStats };
}

/** One box of the graph view: an ONNX node, or a graph input or output. Positions from the layout. */
export interface GraphNodeInfo {
  id: string;
  kind: 'node' | 'input' | 'output';
  /** Node name, or "OpType#index" for an unnamed node; the tensor name for inputs and outputs. */
  label: string;
  /** The op type; "Input" or "Output" for graph inputs and outputs. */
  opType: string;
  domain: string;
  inputs: GraphTensor[];
  outputs: GraphTensor[];
  /** "name = value" per attribute. */
  attributes: string[];
  /** Elements of the node's floating-point initializer inputs. */
  parameterCount: number;
  /** Index of the analysis layer (row of the layer table) this node belongs to, if any. */
  layer?: number;
  /** Why the analysis has no rule for this node. */
  unsupported?: string;
  /** Centre and size in layout units (CSS pixels at zoom 1). */
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A tensor flowing from one node to another, routed by the layout. */
export interface GraphEdgeInfo {
  from: string;
  to: string;
  tensor: string;
  shape?: string;
  points: { x: number; y: number }[];
  /** Where the shape label goes. */
  labelX: number;
  labelY: number;
}

/** The nodes of one analysis layer the engine fuses (e.g. Conv+BatchNormalization+Relu), laid out together. */
export interface GraphGroupInfo {
  /** Index of the analysis layer (row of the layer table). */
  layer: number;
  /** The member nodes' ids, in graph order. */
  nodes: string[];
  /** Centre and size of the frame around the members, in layout units. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ModelGraph {
  nodes: GraphNodeInfo[];
  edges: GraphEdgeInfo[];
  /** Layers of two or more nodes, drawn as groups that collapse to one box (absent from older hosts). */
  groups?: GraphGroupInfo[];
  width: number;
  height: number;
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
  /** Their names alone, for choosing what is bounded. */
  inputNames: string[];
  outputNames: string[];
  /**
   * What the rows are: 'layers' of the whole analysis network; 'prefix', the layers before the first
   * unsupported node; 'nodes', the raw graph nodes when the analysis cannot read the graph at all.
   */
  rowSource: 'layers' | 'prefix' | 'nodes';
  rows: LayerRow[];
  unsupported: UnsupportedRow[];
  /** "3 nodes are not supported: Resize 'up1', …" when unsupported is not empty. */
  unsupportedSummary?: string;
  /** How the graph was read (output taken before Softmax, …), or why the analysis cannot read it. */
  notes: string[];
  /** Every node of the ONNX graph, laid out for the graph view. */
  graph: ModelGraph;
  /** The example input beside the model that an analysis without a chosen input will use. */
  exampleInput?: ExampleInputResolution;
  /** The analysed input's declared shape leaves dimensions open: the rows follow the nominal input file's shape. */
  openInputShape?: boolean;
}

/** Which file beside a model serves as its example input, and the candidates passed over. */
export interface ExampleInputResolution {
  /** The file used; absent when none fits (the synthetic input is used). */
  path?: string;
  fileName?: string;
  shape?: number[];
  /** Candidates found but not used, in the order tried: the file and one sentence saying why. */
  skipped: { fileName: string; reason: string }[];
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
  /** Threads of the native kernels inside the worker. */
  threads: number;
  computeRadius: boolean;
  /** The certified radius's search stops once the radius is within this relative distance of its upper end. */
  radiusTolerance: number;
  /** The composed network bound may use this many times the layer run's operator applications; 0: it is not computed. */
  composedBudget: number;
  /**
   * Refuse (error code 'overBudget') an analysis whose estimated memory exceeds this many bytes;
   * absent once the user has confirmed the run.
   */
  maxMemoryBytes?: number;
}

/** For models with several inputs or outputs: what is bounded (see the CLI's --input-name, --fixed, --output). */
export interface GraphIoChoice {
  /** The input the bounds are taken with respect to (default: the first float input). */
  inputName?: string;
  /** Files holding the values other inputs are held at (inputs not listed: zeros). */
  fixedInputs?: { name: string; path: string }[];
  /** Outputs bounded, stacked (default: all). */
  outputs?: string[];
}

export interface AnalyzeParams {
  modelPath: string;
  /** The ε of the main run. */
  epsilon: number;
  /** Further ε values for the sweep chart; may be empty. */
  sweep: number[];
  input: InputChoice;
  /** Absent: the defaults (first float input, other inputs at zeros, every output). */
  graphIo?: GraphIoChoice;
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
  /** `inputPath`: the chosen nominal input, whose shape an input with open dimensions takes. */
  describeModel: MethodSpec<{ path: string; inputPath?: string }, ModelOverview>;
  analyze: MethodSpec<AnalyzeParams, BoundReport, AnalyzeProgress>;
  /**
   * Test mode only: the worker announces it through progress, then dies abruptly (exit, throw), fills
   * its heap until Node stops it (allocate), or spins without ever sending anything again (hang).
   */
  crashForTest: MethodSpec<{ how: 'exit' | 'throw' | 'allocate' | 'hang' }, never, string>;
  /**
   * Test mode only: the next analyze request stops after its first layer result and stays there until
   * it is cancelled, so tests can cancel a run that is provably still running on any machine.
   */
  holdNextAnalysisForTest: MethodSpec<Record<string, never>, null>;
};

export interface WorkerLogMessage {
  kind: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export type HostToWorkerMessage = RequestMessage<WorkerMethods> | CancelMessage;
/** Sent by a busy worker at least once a second, so the host's watchdog can tell slow from stuck. */
export interface WorkerHeartbeatMessage {
  kind: 'heartbeat';
}
export type WorkerToHostMessage = ReplyMessage | WorkerLogMessage | WorkerHeartbeatMessage;

/** Passed to the worker as workerData. */
export interface EngineWorkerData {
  testMode: boolean;
}

// ---------------------------------------------------------------------------------------------
// Host ↔ webview

export type AnalysisPhase = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';

/** What a run computes: the main analysis at the chosen ε, or the ε sweep for the chart. */
export type AnalysisTask = 'analyze' | 'sweep';

export interface AnalysisStatus {
  phase: AnalysisPhase;
  /** The task of the current or last run (absent before any). */
  task?: AnalysisTask;
  epsilon: number;
  /** e.g. "digit.npy" or "synthetic input". */
  inputLabel: string;
  progress?: AnalyzeProgress;
  /** Why it failed, or what was cancelled, or that results were reused. */
  message?: string;
}

/** The ε values a sweep form starts from (the lipschitzLens.sweep setting, as min/max/points). */
export interface SweepRange {
  min: number;
  max: number;
  points: number;
}

/**
 * A run kept to compare later runs against, layer by layer: one for the whole window (pinned in one
 * model's editor, compared in any other's), kept by the host (pinnedRunStore.ts).
 */
export interface PinnedRun {
  /** The model's file name, as the report names it. */
  model: string;
  /** The model's path (ModelOverview.path): which model the pin belongs to. */
  modelPath: string;
  inputLabel: string;
  epsilon: number;
  localBound: number;
  spectralBound: number;
  /** Each layer with its ONNX node names, by which a layer of another model is matched when labels differ. */
  layers: PinnedLayer[];
}

export interface PinnedLayer {
  label: string;
  nodes: string[];
  localBound: number;
  spectralNorm: number;
}

export type HostToWebviewMessage =
  | ReplyMessage
  | { kind: 'model'; model: ModelOverview }
  | { kind: 'modelError'; fileName: string; message: string }
  | { kind: 'analysisStatus'; status: AnalysisStatus }
  /** undefined: the previous report no longer applies (the model changed on disk). */
  | { kind: 'analysisReport'; report: BoundReport | undefined }
  /** Layer results of the running main analysis, as they stream; a new runId starts a new list. */
  | { kind: 'layerResults'; runId: number; epsilon: number; layers: LayerResult[] }
  /** The sweep's runs, ascending ε (undefined: none, or no longer valid). */
  | { kind: 'sweepReport'; report: BoundReport | undefined }
  | { kind: 'sweepRange'; range: SweepRange }
  /** The window's pinned run (undefined: none), sent on 'ready' and whenever it changes. */
  | { kind: 'pinnedRun'; pinned: PinnedRun | undefined };

export type WebviewMethods = {
  analyze: MethodSpec<{ epsilon?: number }, { phase: AnalysisPhase }>;
  runSweep: MethodSpec<{ range?: SweepRange }, { phase: AnalysisPhase }>;
  cancelAnalysis: MethodSpec<Record<string, never>, null>;
  /** Opens the file picker for the nominal input; null when the user cancelled it. */
  chooseInput: MethodSpec<{ synthetic?: boolean }, string | null>;
  exportReport: MethodSpec<Record<string, never>, string | null>;
  /** Saves the chart the webview drew; png is a data: URL (absent when the webview could not rasterise it). */
  exportChart: MethodSpec<{ svg: string; png?: string }, string | null>;
  /** Pins a run for every editor of the window; null unpins. */
  pinRun: MethodSpec<{ pinned: PinnedRun | null }, null>;
};

export type WebviewToHostMessage =
  | { kind: 'ready' }
  /** Once per load: the first graph is on screen, `boxes` boxes (bench/viewOpen.ts times open-to-drawn by it). */
  | { kind: 'graphDrawn'; boxes: number }
  | RequestMessage<WebviewMethods>
  | CancelMessage;
