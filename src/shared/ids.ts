// Names that cross a boundary (package.json, the host, tests): defined once here.

export const EXTENSION_ID = 'lipschitz-lens.lipschitz-lens';
export const MODEL_EDITOR_VIEW_TYPE = 'lipschitzLens.modelEditor';
export const CONFIGURATION_SECTION = 'lipschitzLens';
export const OUTPUT_CHANNEL_NAME = 'Lipschitz Lens';

export const COMMANDS = {
  analyze: 'lipschitzLens.analyze',
  runSweep: 'lipschitzLens.runSweep',
  setEpsilon: 'lipschitzLens.setEpsilon',
  chooseInput: 'lipschitzLens.chooseInput',
  chooseInputsOutputs: 'lipschitzLens.chooseInputsOutputs',
  exportReport: 'lipschitzLens.exportReport',
  cancelAnalysis: 'lipschitzLens.cancelAnalysis',
  showLog: 'lipschitzLens.showLog',
} as const;

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Context keys describing the active model editor, used by `when` clauses in package.json. */
export const CONTEXT_KEYS = {
  analysisRunning: 'lipschitzLens.analysisRunning',
  hasResults: 'lipschitzLens.hasResults',
} as const;

/** Set (to "1") by test runners; enables test-only worker requests and the testing API. */
export const TEST_MODE_ENV = 'LIPSCHITZ_LENS_TEST';
