// The operations the engine calls (conv plans and products, dense products, the Lanczos step and the
// exact path's helpers) over raw pointers, on one instruction set's kernels (kernelsImpl.h) and a way
// of running a job on several threads. Shared by the N-API module (kernels.cc: argument checks, a
// thread pool, the widest instruction set of the CPU) and the WebAssembly module (kernelsWasm.cc: the
// SIMD128 build on one thread), so both run the same code. Arguments arrive checked.
#pragma once

#include <functional>
#include <vector>

#include "kernels.h"

// One instruction set's kernels (kernels.h), chosen at load time.
struct Kernels {
  const char* name;
  int (*registerRows)();
  int (*positionBlock)(long);
  long (*panelSize)(int, int);
  void (*packPanels)(const float*, int, int, bool, double*);
  long (*convScratchSize)(const ConvShape&);
  void (*convForwardTask)(const ConvShape&, const double*, int, const double*, double*, int, long, int, int, int, double*);
  void (*convAdjointTask)(const ConvShape&, const double*, const double*, double*, int, long, int, int, int, double*);
  void (*denseForwardRows)(const float*, long, const double*, double*, long, int, int, long, long);
  void (*denseAdjointRows)(const float*, long, const double*, double*, long, int, long, long);
  void (*denseGramRows)(const float*, long, const double*, const double*, double*, int, long, long);
  void (*partialDots)(const double*, long, int, const double*, double*, long, long);
  void (*gramRows)(const double*, long, long, long, double*, long);
  double (*subtractDot)(const double*, double, double*, const double*, long, long);
};

#define LL_KERNELS(NAME, NS)                                                                                        \
  Kernels {                                                                                                       \
    NAME, NS::registerRows, NS::positionBlock, NS::panelSize, NS::packPanels, NS::convScratchSize,                \
        NS::convForwardTask, NS::convAdjointTask, NS::denseForwardRows, NS::denseAdjointRows, NS::denseGramRows, \
        NS::partialDots, NS::gramRows, NS::subtractDot                                                           \
  }

// Runs a job on up to size() threads: run(threads, job) calls job(part, parts) once for every part in
// [0, parts) and returns when all have finished. Jobs partition their work by part, so results do not
// depend on scheduling.
class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual int size() const = 0;
  virtual void run(int threads, const std::function<void(int, int)>& job) = 0;
};

// The kernels and the threads every operation runs on.
struct Context {
  const Kernels& kernels;
  Parallel& parallel;
};

struct ConvPlan {
  ConvShape g;
  long inSize, outSize, positions;
  int K, inPerGroup, outPerGroup;
  // W and Wᵀ packed as float64 panels (squares and absolute values are taken as they are used).
  std::vector<double> forward, adjoint;
  // Working vectors kept between calls: A x inside convGram, the threads' parts of an adjoint.
  std::vector<double> middle;
  std::vector<std::vector<double>> partial;
};

// The plan's sizes for shape g (K, positions, input and output sizes); false when a size overflows.
bool convPlanSizes(const ConvShape& g, ConvPlan& plan);
// Packs the weights (outChannels × K float32 values) of a plan whose sizes are set.
void convPlanPack(const Context& c, const float* weight, ConvPlan& plan);

void convForward(const Context& c, ConvPlan& plan, const double* x, double* y, long batch, int mode);
void convAdjoint(const Context& c, ConvPlan& plan, const double* y, double* x, long batch);
// Input side: out = Aᵀ diag(scale) A v. Output side: out = A diag(scale) Aᵀ v.
void convGram(const Context& c, ConvPlan& plan, const double* v, const double* scale, double* out, bool outputSide);

void denseForward(const Context& c, const float* W, long rows, long cols, const double* x, double* y, long batch, int mode);
void denseAdjoint(const Context& c, const float* W, long rows, long cols, const double* y, double* x, long batch);
void denseGram(const Context& c, const float* W, long rows, long cols, const double* scale, const double* x, double* out, long batch);
void denseGramOutput(const Context& c, const float* W, long rows, long cols, const double* scale, const double* y, double* out);

// One step of the plain Lanczos recurrence (see kernels.cc); writes alpha and beta.
void lanczosRecurrence(const Context& c, double* previous, const double* q, double* w, long n, double previousBeta, double* alphaBeta);
void matVec(const Context& c, const double* A, long rows, long cols, const double* x, double* y);
void gramMatrix(const Context& c, const double* B, long k, long inner, double* G);
// false when a pivot is not positive, else sums[0..2] as choleskyCertificate.ts expects.
bool choleskyResidual(const Context& c, const double* M, long k, double* sums);
