// The float64 kernels of the fast operator path, compiled once per instruction set (kernelsAvx512.cc,
// kernelsAvx2.cc, kernelsGeneric.cc include this file inside their own namespace, each with its own
// -m flags); kernels.cc picks one at load time. Weights arrive as the model's float32 values and are
// widened exactly; every sum is a float64 sum of products (any order, FMA allowed), so the rounding
// bounds of the TypeScript reference (γ_K per output) hold unchanged.
//
// Convolution is im2col + GEMM on position blocks (forward: y = W · cols(x); adjoint: cols = Wᵀ · y,
// then col2im adds cols back into x), so one register-tiled micro-kernel serves every stride, pad,
// dilation and group. Dense layers stream the float32 weights once per product (memory bound).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace KERNEL_NS {

#if defined(__AVX512F__)
constexpr int VL = 8;
constexpr int MR = 8;
constexpr int NV = 3;
#elif defined(__AVX2__)
constexpr int VL = 4;
constexpr int MR = 4;
constexpr int NV = 3;
#else
constexpr int VL = 2;
constexpr int MR = 4;
constexpr int NV = 2;
#endif
constexpr int NR = NV * VL;
// Reduction depth per pass over a B panel: KC × block positions × 8 bytes stays in L2.
constexpr int KC = 256;
// Positions per im2col block (a multiple of NR).
constexpr int PB = NR * 8;

typedef double vd __attribute__((vector_size(VL * 8)));
typedef double vdu __attribute__((vector_size(VL * 8), aligned(8)));
typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));

int vectorLanes() { return VL; }

// Every lane x. (Written as a loop, not `(vd){} + x`: adding 0.0 keeps -0.0 semantics, so the compiler
// emits an extra add before each broadcast, and in the micro-kernel those compete with the FMAs.)
static inline vd splat(double x) {
  vd v;
#pragma GCC unroll 8
  for (int i = 0; i < VL; i++) v[i] = x;
  return v;
}

// C[R × NR] (+)= Σ_k A[k][0..R) · B[k][0..NR). A is a packed panel (MR doubles per k), B rows have
// stride ldb, C rows stride ldc. All tiles are full: callers pad A panels and B/C buffers. The A values
// are broadcast straight from memory (a load-port operation) so the FMA ports do nothing else; with
// plain vector code the compiler builds the broadcasts from one vector load with permutes, which run
// on an FMA port and cost a third of the throughput.
// Mode transforms each A value as it is broadcast: the weights, their squares (the row-norm pass) or
// their absolute values (the forward pass's rounding bound), so no transformed copy is stored.
// Only the first R ≤ MR rows of the panel are computed (C's other rows are left as they are): a panel
// with fewer real rows, such as a depthwise convolution's one output per group, skips the padding's
// multiply-adds. Each row's sums are the same whatever R is.
template <int Mode, int R>
static inline void microKernel(int kc, const double* __restrict A, const double* __restrict B, long ldb, double* __restrict C,
                               long ldc, bool accumulate) {
#if defined(__AVX512F__)
  __m512d c[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[i][v] = accumulate ? _mm512_loadu_pd(C + i * ldc + v * VL) : _mm512_setzero_pd();
  for (int k = 0; k < kc; k++) {
    __m512d b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_pd(B + k * ldb + v * VL);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      __m512d a = _mm512_set1_pd(A[k * MR + i]);
      if (Mode == WEIGHT_SQUARED) a = _mm512_mul_pd(a, a);
      if (Mode == WEIGHT_ABSOLUTE) a = _mm512_abs_pd(a);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_pd(a, b[v], c[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) _mm512_storeu_pd(C + i * ldc + v * VL, c[i][v]);
#elif defined(__AVX2__)
  __m256d c[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[i][v] = accumulate ? _mm256_loadu_pd(C + i * ldc + v * VL) : _mm256_setzero_pd();
  for (int k = 0; k < kc; k++) {
    __m256d b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_pd(B + k * ldb + v * VL);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      __m256d a = _mm256_broadcast_sd(A + k * MR + i);
      if (Mode == WEIGHT_SQUARED) a = _mm256_mul_pd(a, a);
      if (Mode == WEIGHT_ABSOLUTE) a = _mm256_andnot_pd(_mm256_set1_pd(-0.0), a);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[i][v] = _mm256_fmadd_pd(a, b[v], c[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) _mm256_storeu_pd(C + i * ldc + v * VL, c[i][v]);
#else
  vd c[R][NV];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < NV; v++) c[i][v] = accumulate ? *(const vdu*)(C + i * ldc + v * VL) : (vd){};
  for (int k = 0; k < kc; k++) {
    vd b[NV];
    for (int v = 0; v < NV; v++) b[v] = *(const vdu*)(B + k * ldb + v * VL);
    for (int i = 0; i < R; i++) {
      const double value = A[k * MR + i];
      const vd a = splat(Mode == WEIGHT_SQUARED ? value * value : Mode == WEIGHT_ABSOLUTE ? std::fabs(value) : value);
      for (int v = 0; v < NV; v++) c[i][v] += a * b[v];
    }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < NV; v++) *(vdu*)(C + i * ldc + v * VL) = c[i][v];
#endif
}

// Rows [rowBegin, rowEnd) (rowBegin a multiple of MR) of C (rowsPadded × cols) = A (rows × K, packed
// in MR-row panels [panel][k][MR]) · B (K × cols), where cols is a multiple of NR. B and C have row
// stride `cols`. A last panel of fewer rows runs the micro-kernel on those rows only (rounded up to a
// power of two); C's rows from rowEnd on are scratch.
template <int Mode, int R>
static void panelColumns(int kc, const double* panel, const double* B, double* C, int cols, bool accumulate) {
  for (int j0 = 0; j0 < cols; j0 += NR) microKernel<Mode, R>(kc, panel, B + j0, cols, C + j0, cols, accumulate);
}

template <int Mode>
static void gemm(int rowBegin, int rowEnd, int K, int cols, const double* Apacked, const double* B, double* C) {
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    for (int i0 = rowBegin; i0 < rowEnd; i0 += MR) {
      const double* panel = Apacked + (long)(i0 / MR) * K * MR + (long)k0 * MR;
      const double* b = B + (long)k0 * cols;
      double* c = C + (long)i0 * cols;
      const int rows = rowEnd - i0;
      if (rows == 1) panelColumns<Mode, 1>(kc, panel, b, c, cols, k0 > 0);
      else if (rows == 2 && MR > 2) panelColumns<Mode, (MR > 2 ? 2 : MR)>(kc, panel, b, c, cols, k0 > 0);
      else if (rows <= 4 && MR > 4) panelColumns<Mode, (MR > 4 ? 4 : MR)>(kc, panel, b, c, cols, k0 > 0);
      else panelColumns<Mode, MR>(kc, panel, b, c, cols, k0 > 0);
    }
  }
}

void packPanels(const float* source, int rows, int K, bool transposed, double* out) {
  // Row r, column k of the logical matrix: source[r*K + k], or source[k*rows + r] when transposed.
  const int panels = (rows + MR - 1) / MR;
  for (int p = 0; p < panels; p++) {
    for (int k = 0; k < K; k++) {
      for (int i = 0; i < MR; i++) {
        const int r = p * MR + i;
        double value = 0;
        if (r < rows) value = transposed ? source[(long)k * rows + r] : source[(long)r * K + k];
        out[((long)p * K + k) * MR + i] = value;
      }
    }
  }
}

long panelSize(int rows, int K) { return (long)((rows + MR - 1) / MR) * MR * K; }

int registerRows() { return MR; }

// Positions [p0, p0 + count) of the output plane, walked as runs along output rows. For each run and
// tap the input row and the range of output columns whose input column is inside the image are the
// same for every channel, so they are worked out once per tap (Run) and reused across channels.
struct Run {
  int j, run, owStart, ih, lo, hi, offset;  // ih < 0: the tap's input row is outside the image
};

static int tapRuns(const ConvShape& g, long p0, int count, int ki, int kj, Run* runs) {
  int n = 0;
  int j = 0;
  while (j < count) {
    const long p = p0 + j;
    const int oh = (int)(p / g.outWidth);
    const int owStart = (int)(p % g.outWidth);
    const int run = std::min(count - j, g.outWidth - owStart);
    const int ih = oh * g.strideH + ki * g.dilationH - g.padTop;
    // Output columns ow with 0 ≤ ow·sw + kj·dw − pl < inWidth.
    const int offset = kj * g.dilationW - g.padLeft;
    int lo = offset >= 0 ? 0 : (-offset + g.strideW - 1) / g.strideW;
    int hi = (g.inWidth - 1 - offset) >= 0 ? (g.inWidth - 1 - offset) / g.strideW + 1 : 0;
    lo = std::max(lo, owStart);
    hi = std::min(hi, owStart + run);
    runs[n++] = {j, run, owStart, ih >= 0 && ih < g.inHeight ? ih : -1, lo, std::max(lo, hi), offset};
    j += run;
  }
  return n;
}

// Runs of a block: at most one per output row it touches, plus one.
static inline int maxRuns(const ConvShape& g, int pb) { return pb / g.outWidth + 2; }

// im2col of the group's input channels for positions [p0, p0 + count) into B (K × pb, zero-padded).
static void im2col(const ConvShape& g, const double* x, int group, long p0, int count, int pb, double* B) {
  const int inPerGroup = g.inChannels / g.group;
  const long inPlane = (long)g.inHeight * g.inWidth;
  const int sw = g.strideW;
  std::vector<Run> runs((size_t)maxRuns(g, pb));
  for (int ki = 0; ki < g.kernelH; ki++) {
    for (int kj = 0; kj < g.kernelW; kj++) {
      const int n = tapRuns(g, p0, count, ki, kj, runs.data());
      for (int c = 0; c < inPerGroup; c++) {
        const double* plane = x + (long)(group * inPerGroup + c) * inPlane;
        double* row = B + (long)((c * g.kernelH + ki) * g.kernelW + kj) * pb;
        for (int r = 0; r < n; r++) {
          const Run& u = runs[(size_t)r];
          double* out = row + u.j - u.owStart;
          if (u.ih < 0) {
            std::fill(row + u.j, row + u.j + u.run, 0.0);
            continue;
          }
          for (int ow = u.owStart; ow < u.lo; ow++) out[ow] = 0;
          const double* in = plane + (long)u.ih * g.inWidth + u.offset;
          if (sw == 1) {
            for (int ow = u.lo; ow < u.hi; ow++) out[ow] = in[ow];
          } else {
            for (int ow = u.lo; ow < u.hi; ow++) out[ow] = in[(long)ow * sw];
          }
          for (int ow = u.hi; ow < u.owStart + u.run; ow++) out[ow] = 0;
        }
        std::fill(row + count, row + pb, 0.0);
      }
    }
  }
}

// Adds one tap's row of a block (its entry j for block position j) into an input plane along the tap's runs.
static inline void addRuns(const ConvShape& g, const Run* runs, int n, const double* row, double* plane) {
  const int sw = g.strideW;
  for (int r = 0; r < n; r++) {
    const Run& u = runs[r];
    if (u.ih < 0) continue;
    const double* in = row + u.j - u.owStart;
    double* out = plane + (long)u.ih * g.inWidth + u.offset;
    if (sw == 1) {
      for (int ow = u.lo; ow < u.hi; ow++) out[ow] += in[ow];
    } else {
      for (int ow = u.lo; ow < u.hi; ow++) out[(long)ow * sw] += in[ow];
    }
  }
}

// The adjoint of im2col: adds rows [rowBegin, rowEnd) of C (K × pb; row = (c, ki, kj) in C order)
// back into the group's input channels of x.
static void col2im(const ConvShape& g, const double* C, int group, long p0, int count, int pb, int rowBegin, int rowEnd, double* x) {
  const int inPerGroup = g.inChannels / g.group;
  const long inPlane = (long)g.inHeight * g.inWidth;
  std::vector<Run> runs((size_t)maxRuns(g, pb));
  for (int ki = 0; ki < g.kernelH; ki++) {
    for (int kj = 0; kj < g.kernelW; kj++) {
      const int n = tapRuns(g, p0, count, ki, kj, runs.data());
      for (int c = 0; c < inPerGroup; c++) {
        const int rowIndex = (c * g.kernelH + ki) * g.kernelW + kj;
        if (rowIndex < rowBegin || rowIndex >= rowEnd) continue;
        addRuns(g, runs.data(), n, C + (long)rowIndex * pb, x + (long)(group * inPerGroup + c) * inPlane);
      }
    }
  }
}

long convScratchSize(const ConvShape& g) {
  const int inPerGroup = g.inChannels / g.group;
  const int outPerGroup = g.outChannels / g.group;
  const long K = (long)inPerGroup * g.kernelH * g.kernelW;
  const long rowsPadded = (long)((std::max(outPerGroup, (int)K) + MR - 1) / MR) * MR;
  // B and C of one block, for either direction (forward: K × PB and M × PB; adjoint: M × PB and K × PB).
  return (K + rowsPadded + (long)((outPerGroup + MR - 1) / MR) * MR) * PB;
}

// a·b + c rounded as the micro-kernel rounds it: one fused multiply-add where the instruction set has
// one, else a product and then a sum.
static inline double multiplyAdd(double a, double b, double c) {
#if defined(__FMA__)
  return __builtin_fma(a, b, c);
#else
  return c + a * b;
#endif
}

// A depthwise convolution's block (one input and one output channel per group) without im2col: each
// output is the multiply-adds of its taps from 0 in im2col's order, as the GEMM computes it; the taps
// outside the image, which im2col fills with 0, are skipped (adding w·0 changes no sum). `weights`
// holds tap t at weights[t * stride]. Copying every tap into im2col's block cost more than the products.
static void depthwiseForward(const ConvShape& g, const double* weights, long stride, int mode, const double* x, double* out, int group,
                             long p0, int count, int pb) {
  const double* plane = x + (long)group * g.inHeight * g.inWidth;
  const int sw = g.strideW;
  std::fill(out, out + count, 0.0);
  std::vector<Run> runs((size_t)maxRuns(g, pb));
  for (int ki = 0; ki < g.kernelH; ki++) {
    for (int kj = 0; kj < g.kernelW; kj++) {
      const double value = weights[(ki * g.kernelW + kj) * stride];
      const double w = mode == WEIGHT_SQUARED ? value * value : mode == WEIGHT_ABSOLUTE ? std::fabs(value) : value;
      const int n = tapRuns(g, p0, count, ki, kj, runs.data());
      for (int r = 0; r < n; r++) {
        const Run& u = runs[(size_t)r];
        if (u.ih < 0) continue;
        double* o = out + u.j - u.owStart;
        const double* in = plane + (long)u.ih * g.inWidth + u.offset;
        if (sw == 1) {
          for (int ow = u.lo; ow < u.hi; ow++) o[ow] = multiplyAdd(w, in[ow], o[ow]);
        } else {
          for (int ow = u.lo; ow < u.hi; ow++) o[ow] = multiplyAdd(w, in[(long)ow * sw], o[ow]);
        }
      }
    }
  }
}

// The adjoint of depthwiseForward for taps [tapBegin, tapEnd): per tap, the products w·y of the block
// (the GEMM's column of products, each rounded once), then added into x in col2im's order. The products
// go through `products` so that no compiler fuses them with the additions into one rounding.
static void depthwiseAdjoint(const ConvShape& g, const double* weights, const double* yRow, double* x, int group, long p0, int count,
                             int pb, int tapBegin, int tapEnd, double* products) {
  double* plane = x + (long)group * g.inHeight * g.inWidth;
  std::vector<Run> runs((size_t)maxRuns(g, pb));
  for (int ki = 0; ki < g.kernelH; ki++) {
    for (int kj = 0; kj < g.kernelW; kj++) {
      const int tap = ki * g.kernelW + kj;
      if (tap < tapBegin || tap >= tapEnd) continue;
      const double w = weights[tap];
      for (int j = 0; j < count; j++) products[j] = w * yRow[j];
      addRuns(g, runs.data(), tapRuns(g, p0, count, ki, kj, runs.data()), products, plane);
    }
  }
}

// The panels [part·panels/parts, (part+1)·panels/parts) of a matrix with `rows` rows, as row indices.
static inline void panelRows(int rows, int part, int parts, int& begin, int& end) {
  const int panels = (rows + MR - 1) / MR;
  begin = panels * part / parts * MR;
  end = std::min(rows, panels * (part + 1) / parts * MR);
}

// One task = (vector b, group, position block, part of the rows). Forward writes y directly (each output
// once); when blocks are few the rows of a block are shared out (parts > 1), each part redoing the
// cheap im2col.
void convForwardTask(const ConvShape& g, const double* forwardPanels, int mode, const double* x, double* y, int group, long p0,
                     int pb, int part, int parts, double* scratch) {
  const int inPerGroup = g.inChannels / g.group;
  const int outPerGroup = g.outChannels / g.group;
  const int K = inPerGroup * g.kernelH * g.kernelW;
  const long positions = (long)g.outHeight * g.outWidth;
  const int count = (int)std::min<long>(pb, positions - p0);
  double* B = scratch;
  double* C = scratch + (long)K * pb;
  int rowBegin, rowEnd;
  panelRows(outPerGroup, part, parts, rowBegin, rowEnd);
  if (rowBegin >= rowEnd) return;
  const double* panels = forwardPanels + (long)group * panelSize(outPerGroup, K);
  if (inPerGroup == 1 && outPerGroup == 1) {
    // The group's one row of packed weights: tap t at panels[t * MR].
    depthwiseForward(g, panels, MR, mode, x, y + (long)group * positions + p0, group, p0, count, pb);
    return;
  }
  im2col(g, x, group, p0, count, pb, B);
  if (mode == WEIGHT_SQUARED) gemm<WEIGHT_SQUARED>(rowBegin, rowEnd, K, pb, panels, B, C);
  else if (mode == WEIGHT_ABSOLUTE) gemm<WEIGHT_ABSOLUTE>(rowBegin, rowEnd, K, pb, panels, B, C);
  else gemm<WEIGHT_PLAIN>(rowBegin, rowEnd, K, pb, panels, B, C);
  for (int m = rowBegin; m < rowEnd; m++) {
    std::memcpy(y + (long)(group * outPerGroup + m) * positions + p0, C + (long)m * pb, sizeof(double) * count);
  }
}

// Adjoint task: cols = W_gᵀ · y[group rows, block], then col2im adds them into x (the caller gives
// each thread its own x, so blocks that share input positions never race).
void convAdjointTask(const ConvShape& g, const double* adjointPanels, const double* y, double* x, int group, long p0,
                     int pb, int part, int parts, double* scratch) {
  const int inPerGroup = g.inChannels / g.group;
  const int outPerGroup = g.outChannels / g.group;
  const int K = inPerGroup * g.kernelH * g.kernelW;
  const long positions = (long)g.outHeight * g.outWidth;
  const int count = (int)std::min<long>(pb, positions - p0);
  double* B = scratch;
  double* C = scratch + (long)outPerGroup * pb;
  if (inPerGroup == 1 && outPerGroup == 1) {
    int tapBegin, tapEnd;
    panelRows(K, part, parts, tapBegin, tapEnd);
    // The packed Wᵀ of the group is one column: tap t at index t.
    if (tapBegin < tapEnd)
      depthwiseAdjoint(g, adjointPanels + (long)group * panelSize(K, 1), y + (long)group * positions + p0, x, group, p0, count, pb, tapBegin,
                       tapEnd, B);
    return;
  }
  for (int m = 0; m < outPerGroup; m++) {
    double* row = B + (long)m * pb;
    std::memcpy(row, y + (long)(group * outPerGroup + m) * positions + p0, sizeof(double) * count);
    std::fill(row + count, row + pb, 0.0);
  }
  int rowBegin, rowEnd;
  panelRows(K, part, parts, rowBegin, rowEnd);
  if (rowBegin >= rowEnd) return;
  gemm<WEIGHT_PLAIN>(rowBegin, rowEnd, outPerGroup, pb, adjointPanels + (long)group * panelSize(K, outPerGroup), B, C);
  col2im(g, C, group, p0, count, pb, rowBegin, rowEnd, x);
}

// Positions per block for a plane of `positions`: at most PB, as even as the register tile allows, so
// a small plane is not padded up to a whole PB (CIFAR's 10×10 maps would waste half the block).
int positionBlock(long positions) {
  const long blocks = (positions + PB - 1) / PB;
  const long even = (positions + blocks - 1) / blocks;
  return (int)((even + NR - 1) / NR * NR);
}

// ---- dense layers: W is float32 [rows][cols], vectors float64 ----

static inline vd widen(const float* p) {
  vf f = *(const vfu*)p;
  return __builtin_convertvector(f, vd);
}

static inline vd absolute(vd v) {
  vd r;
#pragma GCC unroll 8
  for (int i = 0; i < VL; i++) r[i] = std::fabs(v[i]);
  return r;
}

static inline double horizontal(vd v) {
  double s = 0;
  for (int i = 0; i < VL; i++) s += v[i];
  return s;
}

// y[b][i] = Σ_j W[i][j]^(1 or 2) x[b][j] for rows [r0, r1).
template <int Mode>
static inline vd weightVector(const float* p) {
  vd v = widen(p);
  if (Mode == WEIGHT_SQUARED) v = v * v;
  if (Mode == WEIGHT_ABSOLUTE) v = absolute(v);
  return v;
}

template <int Mode>
static inline double weightValue(float w) {
  const double v = w;
  return Mode == WEIGHT_SQUARED ? v * v : Mode == WEIGHT_ABSOLUTE ? std::fabs(v) : v;
}

// A single vector, rows four at a time (x is read once per four rows).
template <int Mode>
static void denseForwardSingle(const float* W, long cols, const double* x, double* y, long r0, long r1) {
  const long vecEnd = cols - cols % VL;
  long i = r0;
  for (; i + 4 <= r1; i += 4) {
    const float* w = W + i * cols;
    vd acc[4] = {};
    for (long j = 0; j < vecEnd; j += VL) {
      const vd xv = *(const vdu*)(x + j);
      for (int r = 0; r < 4; r++) acc[r] += weightVector<Mode>(w + r * cols + j) * xv;
    }
    for (int r = 0; r < 4; r++) {
      double s = horizontal(acc[r]);
      for (long j = vecEnd; j < cols; j++) s += weightValue<Mode>(w[r * cols + j]) * x[j];
      y[i + r] = s;
    }
  }
  for (; i < r1; i++) {
    const float* w = W + i * cols;
    vd acc = {};
    for (long j = 0; j < vecEnd; j += VL) acc += weightVector<Mode>(w + j) * *(const vdu*)(x + j);
    double s = horizontal(acc);
    for (long j = vecEnd; j < cols; j++) s += weightValue<Mode>(w[j]) * x[j];
    y[i] = s;
  }
}

void denseForwardRows(const float* W, long cols, const double* x, double* y, long rows, int batch, int mode, long r0, long r1) {
  if (batch == 1) {
    if (mode == WEIGHT_SQUARED) denseForwardSingle<WEIGHT_SQUARED>(W, cols, x, y, r0, r1);
    else if (mode == WEIGHT_ABSOLUTE) denseForwardSingle<WEIGHT_ABSOLUTE>(W, cols, x, y, r0, r1);
    else denseForwardSingle<WEIGHT_PLAIN>(W, cols, x, y, r0, r1);
    return;
  }
  const long vecEnd = cols - cols % VL;
  for (long i = r0; i < r1; i++) {
    const float* w = W + i * cols;
    for (int b0 = 0; b0 < batch; b0 += 4) {
      const int nb = std::min(4, batch - b0);
      vd acc[4] = {};
      for (long j = 0; j < vecEnd; j += VL) {
        vd wv = widen(w + j);
        if (mode == WEIGHT_SQUARED) wv = wv * wv;
        if (mode == WEIGHT_ABSOLUTE) wv = absolute(wv);
        for (int b = 0; b < nb; b++) acc[b] += wv * *(const vdu*)(x + (long)(b0 + b) * cols + j);
      }
      for (int b = 0; b < nb; b++) {
        double s = horizontal(acc[b]);
        for (long j = vecEnd; j < cols; j++) {
          const double wj = w[j];
          s += (mode == WEIGHT_SQUARED ? wj * wj : mode == WEIGHT_ABSOLUTE ? std::fabs(wj) : wj) * x[(long)(b0 + b) * cols + j];
        }
        y[(long)(b0 + b) * rows + i] = s;
      }
    }
  }
}

// acc[b][j] += Σ_{i in [r0, r1)} W[i][j] y[b][i] (the caller zeroes acc and sums the threads' parts).
void denseAdjointRows(const float* W, long cols, const double* y, double* acc, long rows, int batch, long r0, long r1) {
  const long vecEnd = cols - cols % VL;
  if (batch == 1) {
    // Rows four at a time (acc is read and written once per four rows); zero entries of y skipped.
    long rowsOf[4];
    int count = 0;
    const auto flush = [&]() {
      const float* w[4];
      vd s[4];
      for (int r = 0; r < count; r++) {
        w[r] = W + rowsOf[r] * cols;
        s[r] = splat(y[rowsOf[r]]);
      }
      for (long j = 0; j < vecEnd; j += VL) {
        vd sum = *(const vdu*)(acc + j);
        for (int r = 0; r < count; r++) sum += widen(w[r] + j) * s[r];
        *(vdu*)(acc + j) = sum;
      }
      for (long j = vecEnd; j < cols; j++)
        for (int r = 0; r < count; r++) acc[j] += (double)w[r][j] * y[rowsOf[r]];
      count = 0;
    };
    for (long i = r0; i < r1; i++) {
      if (y[i] == 0) continue;
      rowsOf[count++] = i;
      if (count == 4) flush();
    }
    if (count > 0) flush();
    return;
  }
  for (long i = r0; i < r1; i++) {
    const float* w = W + i * cols;
    for (int b = 0; b < batch; b++) {
      const double yi = y[(long)b * rows + i];
      if (yi == 0) continue;
      const vd s = splat(yi);
      double* out = acc + (long)b * cols;
      for (long j = 0; j < vecEnd; j += VL) *(vdu*)(out + j) += widen(w + j) * s;
      for (long j = vecEnd; j < cols; j++) out[j] += (double)w[j] * yi;
    }
  }
}

// acc[b] += Σ_{i in [r0, r1)} W_iᵀ · (scale_i · (W_i · x[b])): one read of each row for both products.
// Single vectors (the Lanczos case) take the rows four at a time, so x and acc are read once per four
// rows instead of once per row (they live in L2 and their traffic, not the weights', set the pace).
void denseGramRows(const float* W, long cols, const double* scale, const double* x, double* acc, int batch, long r0, long r1) {
  const long vecEnd = cols - cols % VL;
  if (batch == 1) {
    long rowsOf[4];
    int count = 0;
    const auto flush = [&]() {
      const float* w[4];
      for (int r = 0; r < count; r++) w[r] = W + rowsOf[r] * cols;
      vd dots[4] = {};
      for (long j = 0; j < vecEnd; j += VL) {
        const vd xv = *(const vdu*)(x + j);
        for (int r = 0; r < count; r++) dots[r] += widen(w[r] + j) * xv;
      }
      double t[4];
      for (int r = 0; r < count; r++) {
        t[r] = horizontal(dots[r]);
        for (long j = vecEnd; j < cols; j++) t[r] += (double)w[r][j] * x[j];
        t[r] *= scale[rowsOf[r]];
      }
      vd s[4];
      for (int r = 0; r < count; r++) s[r] = splat(t[r]);
      for (long j = 0; j < vecEnd; j += VL) {
        vd sum = *(const vdu*)(acc + j);
        for (int r = 0; r < count; r++) sum += widen(w[r] + j) * s[r];
        *(vdu*)(acc + j) = sum;
      }
      for (long j = vecEnd; j < cols; j++)
        for (int r = 0; r < count; r++) acc[j] += (double)w[r][j] * t[r];
      count = 0;
    };
    for (long i = r0; i < r1; i++) {
      if (scale[i] == 0) continue;
      rowsOf[count++] = i;
      if (count == 4) flush();
    }
    if (count > 0) flush();
    return;
  }
  for (long i = r0; i < r1; i++) {
    if (scale[i] == 0) continue;
    const float* w = W + i * cols;
    for (int b = 0; b < batch; b++) {
      const double* xb = x + (long)b * cols;
      vd dotv = {};
      for (long j = 0; j < vecEnd; j += VL) dotv += widen(w + j) * *(const vdu*)(xb + j);
      double t = horizontal(dotv);
      for (long j = vecEnd; j < cols; j++) t += (double)w[j] * xb[j];
      t *= scale[i];
      if (t == 0) continue;
      const vd s = splat(t);
      double* out = acc + (long)b * cols;
      for (long j = 0; j < vecEnd; j += VL) *(vdu*)(out + j) += widen(w + j) * s;
      for (long j = vecEnd; j < cols; j++) out[j] += (double)w[j] * t;
    }
  }
}

// ---- dot products over coordinates [j0, j1) (the exact path's matVec and Gram matrix) ----

// h[i] = Σ_j V[i][j] w[j] over [j0, j1), for the `count` stored vectors of length n.
void partialDots(const double* V, long n, int count, const double* w, double* h, long j0, long j1) {
  for (int i = 0; i < count; i++) {
    const double* v = V + (long)i * n;
    vd s = {};
    long j = j0;
    for (; j + VL <= j1; j += VL) s += *(const vdu*)(v + j) * *(const vdu*)(w + j);
    double total = horizontal(s);
    for (; j < j1; j++) total += v[j] * w[j];
    h[i] = total;
  }
}

// w[i] −= c · v[i] over [j0, j1), returning Σ u[i] w[i] over the updated w (u may be w itself): one
// pass of the Lanczos recurrence and the dot product it needs next.
double subtractDot(const double* v, double c, double* w, const double* u, long j0, long j1) {
  const vd s = splat(c);
  vd acc = {};
  long i = j0;
  for (; i + VL <= j1; i += VL) {
    const vd x = *(const vdu*)(w + i) - s * *(const vdu*)(v + i);
    *(vdu*)(w + i) = x;
    acc += *(const vdu*)(u + i) * x;
  }
  double total = horizontal(acc);
  for (; i < j1; i++) {
    w[i] -= c * v[i];
    total += u[i] * w[i];
  }
  return total;
}

// G[i][j] = Σ_t B[i][t] B[j][t] for rows i in [i0, i1) and every j ≤ i (the lower triangle). Four rows
// i at a time, so each row j is read once per four dot products, and over chunks of t, so the chunk of
// every row stays in L2 (B is k × inner, G is k × k; each entry is still one float64 sum of products).
void gramRows(const double* B, long inner, long i0, long i1, double* G, long k) {
  constexpr long CHUNK = 256;
  for (long i = i0; i < i1; i++) std::fill(G + i * k, G + i * k + i + 1, 0.0);
  for (long t0 = 0; t0 < inner; t0 += CHUNK) {
    const long t1 = std::min(inner, t0 + CHUNK);
    const long vecEnd = t0 + (t1 - t0) / VL * VL;
    long i = i0;
    for (; i + 4 <= i1; i += 4) {
      const double* bi = B + i * inner;
      for (long j = 0; j <= i + 3; j++) {
        const double* bj = B + j * inner;
        vd acc[4] = {};
        for (long t = t0; t < vecEnd; t += VL) {
          const vd v = *(const vdu*)(bj + t);
          for (int r = 0; r < 4; r++) acc[r] += *(const vdu*)(bi + r * inner + t) * v;
        }
        for (int r = 0; r < 4; r++) {
          if (j > i + r) continue;
          double sum = horizontal(acc[r]);
          for (long t = vecEnd; t < t1; t++) sum += bi[r * inner + t] * bj[t];
          G[(i + r) * k + j] += sum;
        }
      }
    }
    for (; i < i1; i++) {
      const double* bi = B + i * inner;
      for (long j = 0; j <= i; j++) {
        double sum;
        partialDots(B + j * inner, inner, 1, bi, &sum, t0, t1);
        G[i * k + j] += sum;
      }
    }
  }
}

}  // namespace KERNEL_NS
