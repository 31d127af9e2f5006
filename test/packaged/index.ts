// The extensionTestsPath module of the run against the unpacked .vsix (test/host/runPackaged.mjs): the
// same Mocha runner as the integration tests, over the *.test.js bundled beside this file.
export { run } from '../integration/index';
