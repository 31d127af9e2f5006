// Declarations shared by the per-instruction-set kernel builds (kernelsImpl.h) and the N-API module.
#pragma once

// How a kernel uses the weights: as they are, squared (row norms ‖a_iᵀ D‖² = (A∘A) d) or absolute
// (|A| v, the forward pass's rounding bound).
constexpr int WEIGHT_PLAIN = 0;
constexpr int WEIGHT_SQUARED = 1;
constexpr int WEIGHT_ABSOLUTE = 2;

struct ConvShape {
  int inChannels, inHeight, inWidth, outChannels, outHeight, outWidth;
  int kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, group;
};

#define LL_DECLARE_KERNELS(NS)                                                                                          \
  namespace NS {                                                                                                       \
  int vectorLanes();                                                                                                   \
  int registerRows();                                                                                                  \
  int positionBlock(long positions);                                                                                                 \
  long panelSize(int rows, int K);                                                                                     \
  void packPanels(const float* source, int rows, int K, bool transposed, double* out);                                \
  long convScratchSize(const ConvShape& g);                                                                           \
  void convForwardTask(const ConvShape& g, const double* forwardPanels, int mode, const double* x, double* y, int group, \
                       long p0, int pb, int part, int parts, double* scratch);                                        \
  void convAdjointTask(const ConvShape& g, const double* adjointPanels, const double* y, double* x, int group, long p0, \
                       int pb, int part, int parts, double* scratch);                                                 \
  void denseForwardRows(const float* W, long cols, const double* x, double* y, long rows, int batch, int mode,         \
                        long r0, long r1);                                                                             \
  void denseAdjointRows(const float* W, long cols, const double* y, double* acc, long rows, int batch, long r0,        \
                        long r1);                                                                                      \
  void denseGramRows(const float* W, long cols, const double* scale, const double* x, double* acc, int batch, long r0, \
                     long r1);                                                                                         \
  void partialDots(const double* V, long n, int count, const double* w, double* h, long j0, long j1);                  \
  void gramRows(const double* B, long inner, long i0, long i1, double* G, long k);                                    \
  double subtractDot(const double* v, double c, double* w, const double* u, long j0, long j1);                        \
  }

LL_DECLARE_KERNELS(avx512)
LL_DECLARE_KERNELS(avx2)
LL_DECLARE_KERNELS(generic)
