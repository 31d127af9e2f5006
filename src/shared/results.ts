// Results of the bound engine as they cross to the webview, the worker protocol and the CLI's JSON.
// Plain data only (numbers, strings, arrays) so they survive postMessage and JSON.stringify.

/** How a number was certified to be an upper bound. */
export type CertificateMethod =
  /** Dense float64 eigen-decomposition of the Gram matrix, plus a rounding margin. */
  | 'exact-eigen'
  /** Lanczos from a seeded random start on the sphere, inflated by the random-start failure bound. */
  | 'lanczos-random-start'
  /** A closed-form value (pool overlap count, 1 for reshapes, per-channel formulas…). */
  | 'closed-form'
  /** Combination of the inputs' radii (residual Add, Concat). */
  | 'composition';

export interface Certificate {
  method: CertificateMethod;
  /** One sentence saying why the number is an upper bound. */
  detail: string;
  /** The raw estimate before any inflation (equal to the bound for closed forms). */
  estimate?: number;
  /** Relative floating-point margin applied to the squared norm. */
  roundingMargin?: number;
  /** Dimension of the symmetric operator iterated on / decomposed. */
  dimension?: number;
  /** Lanczos only. */
  iterations?: number;
  /** Lanczos only: θ ≥ (1 − δ) λ_max except with probability ≤ failureProbability. */
  delta?: number;
  failureProbability?: number;
  seed?: number;
}

export interface NeuronCounts {
  /** Active at x0 (and able to move). */
  on: number;
  /** Can change between linear pieces inside the ball. */
  unstable: number;
  /** In a flat piece over the whole ball (row removed). */
  off: number;
}

export interface LayerResult {
  index: number;
  label: string;
  nodes: string[];
  kind: string;
  /** Radius of this layer's input deviation (for several inputs: sqrt of the sum of squares). */
  epsilonIn: number;
  /** Radius of this layer's output deviation: localBound · epsilonIn. */
  epsilonOut: number;
  /** Local bound of the layer around its nominal input (for Add/Concat: epsilonOut / epsilonIn). */
  localBound: number;
  /** Conservative counterpart independent of x0 and ε (‖A‖ times the activation's global constant). */
  spectralNorm: number;
  neurons?: NeuronCounts;
  certificate: Certificate;
  /** Certificate of spectralNorm (cached across an ε sweep). */
  spectralCertificate: Certificate;
  timeMs: number;
  /** How tight localBound is for this layer alone (only small layers, when requested). */
  tightness?: LayerTightness;
}

/**
 * The layer's own local constant over its input ball (radius epsilonIn around its nominal input,
 * only its movable inputs), from below.
 */
export interface LayerTightness {
  /** A value the layer's local constant is known to reach. */
  lower: number;
  /**
   * 'exact': the layer is affine on the whole ball and its norm was computed exactly (dense
   * eigen-decomposition), so lower is the local constant itself up to float64 rounding.
   * 'witnessed': the best ratio found at a point of the ball (a certified lower bound, maybe loose).
   */
  kind: 'exact' | 'witnessed';
  detail: string;
}

/** A certified lower bound on the network's local constant: a ratio witnessed at a point of the ball. */
export interface LowerBoundResult {
  /** ‖f(x) − f(x0)‖ / ‖x − x0‖ at the witness x, by the pure float64 forward pass. */
  value: number;
  /** Which search found the witness. */
  method: 'jacobian-direction' | 'linearised-direction' | 'sampling' | 'gradient-ascent';
  /** Random points of the ball evaluated. */
  samples: number;
  /** Gradient-ascent steps taken. */
  steps: number;
  /** Network passes used (forward, backward or tangent). */
  evaluations: number;
  /**
   * Of those, the candidate points ranked by onnxruntime's float32 output instead of a float64 pass
   * (the witness itself is always re-evaluated in float64; docs/derivations.md §16).
   */
  runtimeEvaluations?: number;
  /** ‖x − x0‖ of the witness (≤ ε). */
  witnessNorm: number;
  seed: number;
}

/** Which sound network bound gave localBound. */
export type NetworkMethod = 'composed' | 'layer-product' | 'spectral-product';

export interface NetworkBounds {
  /**
   * Bound on ‖f(x) − f(x0)‖ / ‖x − x0‖ for 0 < ‖x − x0‖ ≤ ε (anchored at x0, not pairwise): the smallest
   * of layerProduct, the composed bound of the linearised network and spectralBound (method says which).
   */
  localBound: number;
  /** The paper's composition: the product of the layer bounds (sums over residual branches). */
  layerProduct: number;
  /**
   * 'composed': ‖J(M)‖ of the network with every unit at its midpoint slope plus certified corrections
   * for the units whose slope is uncertain (docs/derivations.md §22); 'layer-product': layerProduct;
   * 'spectral-product': spectralBound, sound at every ε and sometimes the smallest at a large one.
   */
  method: NetworkMethod;
  /** When method is 'composed': ‖J(M)‖ alone, the uncertain units and the certified norms computed. */
  composed?: { midpointNorm: number; uncertainUnits: number; norms: number };
  /** Why the composed bound was not computed to the end (its budget of operator applications). */
  composedSkipped?: string;
  /**
   * Where the layer product's reach (ε times the layer bounds before it) left the float64 range: that
   * layer's label. From there on the rows carry ε in = ∞ and layerProduct is ∞ (Infinity; the string
   * "Infinity" in the JSON report); localBound is then the composed bound (docs/derivations.md §57).
   */
  layerProductOverflowedAt?: string;
  /** Product of ‖A_k‖ and pool constants (or the same recursion over the graph); ∞ when it overflowed. */
  spectralBound: number;
  /** Where the spectral product left the float64 range (spectralBound is then ∞). */
  spectralOverflowedAt?: string;
  /**
   * Probability, over the random Lanczos starts, that any number of this run fails to be an upper
   * bound: the sum of the layer certificates' failure probabilities (union bound), plus the composed
   * bound's when it gave localBound; 0 when every norm was computed exactly or in closed form.
   */
  failureProbability: number;
}

export interface EpsilonRun {
  epsilon: number;
  network: NetworkBounds;
  /** Present when requested: lowerBound.value ≤ true local constant ≤ network.localBound. */
  lowerBound?: LowerBoundResult;
  layers: LayerResult[];
}

export interface RadiusResult {
  /**
   * Largest ε verified to certify the class (a certified lower bound on the true radius): by the network
   * bound, ε · L_net(x0, ε) < gap / √2, or by the margins, ε · L_j(x0, ε) < gap_j for every margin f_c − f_j
   * (docs/derivations.md §44).
   */
  local: number;
  /**
   * 'network-bound': gap/(√2 · L_net) with L_net the network's localBound; 'margins': every logit margin
   * bounded on its own through the composed bound, which certified a larger radius.
   */
  method: 'network-bound' | 'margins';
  /** With 'margins': the class j whose margin f_c − f_j had the least room at the radius, and its bound L_j. */
  bindingClass?: number;
  marginBound?: number;
  /** gap / (√2 · spectral bound). */
  spectral: number;
  gap: number;
  predictedClass: number;
  /** Why the radius is 0 although the class is predicted (the nominal logits are too uncertain to rank). */
  zeroBecause?: string;
  /**
   * Where the search stopped: once `local` was within `tolerance` (relative) of `upperEnd`, the smallest
   * max(ε, ρ(ε)) over its checks — no larger radius is certified by these bounds if they grow with ε
   * (docs/derivations.md §60.1). Absent when the radius is 0 or unbounded.
   */
  search?: { tolerance: number; upperEnd?: number };
}

/** Where the engine's time went, and how much operator work it did (for the CLI footer and the benchmark). */
export interface EngineStats {
  /** Operators of conv and dense layers: the native float64 kernels, their WebAssembly build, or the TypeScript reference. */
  backend: 'native' | 'webassembly' | 'typescript';
  /** Instruction set and threads of the compiled kernels (native and WebAssembly backends). */
  isa?: string;
  threads?: number;
  /** Set when the WebAssembly kernels or the TypeScript operators ran because the native kernels could not: why, and what to do. */
  nativeUnavailable?: string;
  /** Wall time by phase, milliseconds. loadMs (read + normalise) is set by the model-file pipeline. */
  phases: { loadMs?: number; forwardMs: number; fidelityMs: number; rowNormsMs: number; spectralMs: number; composedMs: number; lowerBoundMs: number; radiusMs: number; totalMs: number };
  /** Applications of a conv/dense/affine operator (A x, Aᵀ y, row norms; a fused Gram product counts 2). */
  operatorApplications: number;
  /** Multiply-adds those applications performed (2 flops each). */
  multiplyAdds: number;
}

/**
 * The analysed network against the model file run by onnxruntime, at x0 and points on the ε-sphere:
 * differences on the network output (every layer output it depends on was checked too).
 */
export type FidelityReport =
  | { runtime: string; points: number; tensors: number; maxAbsDifference: number; maxRelativeDifference: number }
  /** The comparison could not run (onnxruntime missing, or refusing the model): why. */
  | { runtime: string; notChecked: string };

export interface AnalysisResult {
  inputShape: number[];
  outputSize: number;
  runs: EpsilonRun[];
  radius?: RadiusResult;
  fidelity?: FidelityReport;
  stats?: EngineStats;
}

export type ProgressEvent =
  | { kind: 'forward'; done: boolean }
  | { kind: 'layer'; epsilonIndex: number; epsilon: number; layerIndex: number; layerCount: number; label: string }
  /** A layer's finished result, sent right after it is computed. */
  | { kind: 'layerResult'; epsilonIndex: number; epsilon: number; layerCount: number; layer: LayerResult }
  /** An ε's network bound, sent as soon as it is known (before the lower-bound search of any ε). */
  | { kind: 'networkBound'; epsilonIndex: number; epsilon: number; network: NetworkBounds }
  /**
   * A certified norm of the composed network bound starting (after an ε's layer rows): the layer whose
   * rows it reads (null: the network output), and the operator applications used so far of at most `budget`.
   */
  | { kind: 'composedNorm'; epsilonIndex: number; epsilon: number; readsLayer: string | null; applications: number; budget: number }
  | { kind: 'radius'; iteration: number; iterations: number; lo: number; hi: number };
