// The WebAssembly module of the fast operator path: the operations of operations.h on the generic
// kernels of kernelsImpl.h, compiled by clang for wasm32-wasi with SIMD128 (two float64 lanes), on one
// thread. A plain C interface over the module's memory: src/engine/wasm/wasmKernels.ts copies the
// arguments in (after checking them as kernels.cc does), calls these, and copies the results out.
// Allocation failures abort (a trap the wrapper reports); everything else arrives checked.

#include <cstdint>
#include <cstdlib>
#include <new>

#include "operations.h"

namespace {

// WebAssembly without shared memory has one thread: every job runs on the caller.
class Serial : public Parallel {
 public:
  int size() const override { return 1; }
  void run(int, const std::function<void(int, int)>& job) override { job(0, 1); }
};

const Kernels kernels = LL_KERNELS("WebAssembly SIMD128", generic);
Serial serial;
const Context context{kernels, serial};

}  // namespace

// operations.cc keeps its scratch buffer in a thread_local vector, whose destructor the compiler
// registers here; Debian's wasm32 libc++abi is built without threads and lacks the function. The
// module's one thread never exits, so there is nothing to run.
extern "C" int __cxa_thread_atexit(void (*)(void*), void*, void*) { return 0; }

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

EXPORT(allocate) void* allocate(size_t bytes) { return std::malloc(bytes); }
EXPORT(release) void release(void* pointer) { std::free(pointer); }

// shape: the 15 entries of ConvShape (kernels.h), checked by the caller; null when a size overflows.
EXPORT(convPlan) ConvPlan* convPlanCreate(const float* weight, const int32_t* s) {
  const ConvShape g{s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14]};
  ConvPlan* plan = new ConvPlan();
  if (!convPlanSizes(g, *plan)) {
    delete plan;
    return nullptr;
  }
  convPlanPack(context, weight, *plan);
  return plan;
}
EXPORT(convPlanRelease) void convPlanRelease(ConvPlan* plan) { delete plan; }
EXPORT(convForward) void convForwardC(ConvPlan* plan, const double* x, double* y, int batch, int mode) { convForward(context, *plan, x, y, batch, mode); }
EXPORT(convAdjoint) void convAdjointC(ConvPlan* plan, const double* y, double* x, int batch) { convAdjoint(context, *plan, y, x, batch); }
EXPORT(convGram) void convGramC(ConvPlan* plan, const double* v, const double* scale, double* out, int outputSide) {
  convGram(context, *plan, v, scale, out, outputSide != 0);
}

EXPORT(denseForward) void denseForwardC(const float* W, int rows, int cols, const double* x, double* y, int batch, int mode) {
  denseForward(context, W, rows, cols, x, y, batch, mode);
}
EXPORT(denseAdjoint) void denseAdjointC(const float* W, int rows, int cols, const double* y, double* x, int batch) {
  denseAdjoint(context, W, rows, cols, y, x, batch);
}
EXPORT(denseGram) void denseGramC(const float* W, int rows, int cols, const double* scale, const double* x, double* out, int batch) {
  denseGram(context, W, rows, cols, scale, x, out, batch);
}
EXPORT(denseGramOutput) void denseGramOutputC(const float* W, int rows, int cols, const double* scale, const double* y, double* out) {
  denseGramOutput(context, W, rows, cols, scale, y, out);
}

// alphaBeta receives [alpha, beta].
EXPORT(lanczosRecurrence) void lanczosRecurrenceC(double* previous, const double* q, double* w, int n, double previousBeta, double* alphaBeta) {
  lanczosRecurrence(context, previous, q, w, n, previousBeta, alphaBeta);
}
EXPORT(matVec) void matVecC(const double* A, int rows, int cols, const double* x, double* y) { matVec(context, A, rows, cols, x, y); }
EXPORT(gramMatrix) void gramMatrixC(const double* B, int k, int inner, double* G) { gramMatrix(context, B, k, inner, G); }
// 0 when a pivot is not positive, else 1 with the three sums in sums[0..2].
EXPORT(choleskyResidual) int choleskyResidualC(const double* M, int k, double* sums) { return choleskyResidual(context, M, k, sums) ? 1 : 0; }
