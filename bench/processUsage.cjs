// Preloaded into the CLI by bench/pytorch.ts (`node --require`): at exit, one line on stderr with the
// process's CPU time, peak RSS (all threads: native kernels, onnxruntime) and when, in ms since the
// process's time origin, this preload ran (Node's own start-up before it), the report reached stdout
// and the exit began — so the time outside the report's phases can be split into start, module
// loading, writing the report, draining the event loop and exit.
'use strict';
const preloadAtMs = performance.now();
let firstStdoutAtMs;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => {
  firstStdoutAtMs ??= performance.now();
  return write(...args);
};
process.on('exit', () => {
  const usage = process.resourceUsage();
  const line = {
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    maxRssMiB: usage.maxRSS / 1024,
    preloadAtMs,
    firstStdoutAtMs,
    exitAtMs: performance.now(),
  };
  process.stderr.write(`\nBENCH_PROCESS_USAGE ${JSON.stringify(line)}\n`);
});
