// The operations of operations.h: how each product is cut into tasks for the threads and which kernels
// of kernelsImpl.h run them. Every sum is still a float64 sum of products, so the rounding bounds of the
// TypeScript reference hold for any thread count (see kernelsImpl.h).

#include "operations.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace {

struct Range {
  long begin, end;
};

Range share(long total, int part, int parts) {
  return {total * part / parts, total * (part + 1) / parts};
}

// Work below this many multiply-adds runs on the calling thread alone (waking a pool costs ~10 µs).
constexpr double PARALLEL_WORK = 2e5;

int threadsFor(const Context& c, double multiplyAdds) { return multiplyAdds < PARALLEL_WORK ? 1 : c.parallel.size(); }

// Per-thread working memory, kept between calls (every kernel writes what it later reads).
double* scratchFor(long size) {
  static thread_local std::vector<double> buffer;
  if ((long)buffer.size() < size) buffer.resize((size_t)size);
  return buffer.data();
}

// Too few blocks to share out evenly (5 blocks on 2 threads leave one idle 40 % of the time): split
// each block's rows into parts as well, up to four tasks per thread, each part redoing its im2col.
int rowPartsFor(const Context& c, long blocks, int threads, int rows) {
  if (threads == 1) return 1;
  const long wanted = (4L * threads + blocks - 1) / blocks;
  const long panels = (rows + c.kernels.registerRows() - 1) / c.kernels.registerRows();
  return (int)std::max(1L, std::min(wanted, panels));
}

// Runs body(target, begin, end) on the thread's share of [0, tasks), where target receives additions
// to out: thread 0 adds into out itself, the others into their own zeroed copies (kept in `parts` for
// reuse), summed into out in thread order afterwards, so the result does not depend on scheduling.
// out is zeroed first. `touched` (when given) says which entries of out a share of the tasks can add
// to: only those are zeroed in a copy and summed (the others would add 0).
void accumulateShared(const Context& c, long tasks, long outLength, int threads, double* out, std::vector<std::vector<double>>& parts,
                      const std::function<void(double*, long, long)>& body,
                      const std::function<Range(long, long)>& touched = nullptr) {
  parts.resize((size_t)std::max(0, std::min(threads, c.parallel.size()) - 1));
  std::vector<Range> ranges(parts.size(), Range{0, 0});
  std::fill(out, out + outLength, 0.0);
  c.parallel.run(threads, [&](int part, int count) {
    double* target = out;
    const Range r = share(tasks, part, count);
    if (part > 0) {
      std::vector<double>& own = parts[(size_t)part - 1];
      const Range entries = touched && r.begin < r.end ? touched(r.begin, r.end) : Range{0, r.begin < r.end ? outLength : 0};
      own.resize((size_t)outLength);
      std::fill(own.begin() + entries.begin, own.begin() + entries.end, 0.0);
      ranges[(size_t)part - 1] = entries;
      target = own.data();
    }
    body(target, r.begin, r.end);
  });
  for (size_t p = 0; p < parts.size(); p++) {
    const std::vector<double>& own = parts[p];
    for (long i = ranges[p].begin; i < ranges[p].end; i++) out[i] += own[(size_t)i];
  }
}

// A dense accumulation split by rows (see accumulateShared).
void accumulateRows(const Context& c, long rows, long outLength, double work, double* out, const std::function<void(double*, long, long)>& body) {
  std::vector<std::vector<double>> parts;
  accumulateShared(c, rows, outLength, threadsFor(c, work), out, parts, body);
}

bool product(long a, long b, long& result) { return !__builtin_mul_overflow(a, b, &result); }

}  // namespace

bool convPlanSizes(const ConvShape& g, ConvPlan& plan) {
  plan.g = g;
  plan.inPerGroup = g.inChannels / g.group;
  plan.outPerGroup = g.outChannels / g.group;
  long taps, reduction, inPlane, weights;
  if (!product(g.kernelH, g.kernelW, taps) || !product(plan.inPerGroup, taps, reduction) || reduction > 2147483647L) return false;
  plan.K = (int)reduction;
  return product(g.outHeight, g.outWidth, plan.positions) && product(g.inHeight, g.inWidth, inPlane) &&
         product(g.inChannels, inPlane, plan.inSize) && product(g.outChannels, plan.positions, plan.outSize) &&
         product(g.outChannels, plan.K, weights);
}

void convPlanPack(const Context& c, const float* weight, ConvPlan& plan) {
  const long forwardPanel = c.kernels.panelSize(plan.outPerGroup, plan.K);
  const long adjointPanel = c.kernels.panelSize(plan.K, plan.outPerGroup);
  plan.forward.resize((size_t)forwardPanel * plan.g.group);
  plan.adjoint.resize((size_t)adjointPanel * plan.g.group);
  for (int group = 0; group < plan.g.group; group++) {
    const float* wg = weight + (size_t)group * plan.outPerGroup * plan.K;
    c.kernels.packPanels(wg, plan.outPerGroup, plan.K, false, plan.forward.data() + (size_t)group * forwardPanel);
    c.kernels.packPanels(wg, plan.K, plan.outPerGroup, true, plan.adjoint.data() + (size_t)group * adjointPanel);
  }
}

void convForward(const Context& c, ConvPlan& plan, const double* x, double* y, long batch, int mode) {
  const Kernels& k = c.kernels;
  const double* panels = plan.forward.data();
  const ConvShape& g = plan.g;
  const int pb = k.positionBlock(plan.positions);
  const long blocks = (plan.positions + pb - 1) / pb;
  const long scratchSize = k.convScratchSize(g);
  const double work = (double)batch * plan.outSize * plan.K;
  const int threads = threadsFor(c, work);
  // Each part of a block redoes its im2col, so the forward splits rows only as far as balance needs.
  const long blockCount = batch * g.group * blocks;
  const int rowParts = blockCount % threads == 0 ? 1 : std::min(threads, rowPartsFor(c, blockCount, threads, plan.outPerGroup));
  const long tasks = blockCount * rowParts;
  c.parallel.run(threads, [&](int part, int parts) {
    double* scratch = scratchFor(scratchSize);
    const Range r = share(tasks, part, parts);
    for (long t = r.begin; t < r.end; t++) {
      const long block = t / rowParts;
      const long b = block / (g.group * blocks);
      const int group = (int)((block / blocks) % g.group);
      const long p0 = (block % blocks) * pb;
      k.convForwardTask(g, panels, mode, x + b * plan.inSize, y + b * plan.outSize, group, p0, pb, (int)(t % rowParts), rowParts, scratch);
    }
  });
}

void convAdjoint(const Context& c, ConvPlan& plan, const double* y, double* x, long batch) {
  const Kernels& k = c.kernels;
  const ConvShape& g = plan.g;
  const int pb = k.positionBlock(plan.positions);
  const long blocks = (plan.positions + pb - 1) / pb;
  const long scratchSize = k.convScratchSize(g);
  const double work = (double)batch * plan.outSize * plan.K;
  const int threads = threadsFor(c, work);
  const int rowParts = rowPartsFor(c, g.group * blocks, threads, plan.K);
  const long tasks = g.group * blocks * rowParts;
  // Tasks run group by group, and a group adds only into its own input channels.
  const long groupInput = plan.inSize / g.group;
  const auto touched = [&](long begin, long end) {
    return Range{begin / rowParts / blocks * groupInput, ((end - 1) / rowParts / blocks + 1) * groupInput};
  };
  for (long b = 0; b < batch; b++) {
    accumulateShared(
        c, tasks, plan.inSize, threads, x + b * plan.inSize, plan.partial,
        [&](double* target, long begin, long end) {
          double* scratch = scratchFor(scratchSize);
          for (long t = begin; t < end; t++) {
            const long block = t / rowParts;
            k.convAdjointTask(g, plan.adjoint.data(), y + b * plan.outSize, target, (int)(block / blocks), (block % blocks) * pb, pb,
                              (int)(t % rowParts), rowParts, scratch);
          }
        },
        touched);
  }
}

void convGram(const Context& c, ConvPlan& plan, const double* v, const double* scale, double* out, bool outputSide) {
  const long middleSize = outputSide ? plan.inSize : plan.outSize;
  plan.middle.resize((size_t)middleSize);
  double* middle = plan.middle.data();
  if (outputSide) convAdjoint(c, plan, v, middle, 1);
  else convForward(c, plan, v, middle, 1, WEIGHT_PLAIN);
  for (long i = 0; i < middleSize; i++) middle[i] *= scale[i];
  if (outputSide) convForward(c, plan, middle, out, 1, WEIGHT_PLAIN);
  else convAdjoint(c, plan, middle, out, 1);
}

void denseForward(const Context& c, const float* W, long rows, long cols, const double* x, double* y, long batch, int mode) {
  c.parallel.run(threadsFor(c, (double)batch * rows * cols), [&](int part, int parts) {
    const Range r = share(rows, part, parts);
    c.kernels.denseForwardRows(W, cols, x, y, rows, (int)batch, mode, r.begin, r.end);
  });
}

void denseAdjoint(const Context& c, const float* W, long rows, long cols, const double* y, double* x, long batch) {
  accumulateRows(c, rows, batch * cols, (double)batch * rows * cols, x,
                 [&](double* target, long r0, long r1) { c.kernels.denseAdjointRows(W, cols, y, target, rows, (int)batch, r0, r1); });
}

void denseGram(const Context& c, const float* W, long rows, long cols, const double* scale, const double* x, double* out, long batch) {
  accumulateRows(c, rows, batch * cols, 2.0 * batch * rows * cols, out,
                 [&](double* target, long r0, long r1) { c.kernels.denseGramRows(W, cols, scale, x, target, (int)batch, r0, r1); });
}

void denseGramOutput(const Context& c, const float* W, long rows, long cols, const double* scale, const double* y, double* out) {
  std::vector<double> middle((size_t)cols);
  accumulateRows(c, rows, cols, (double)rows * cols, middle.data(),
                 [&](double* target, long r0, long r1) { c.kernels.denseAdjointRows(W, cols, y, target, rows, 1, r0, r1); });
  for (long j = 0; j < cols; j++) middle[(size_t)j] *= scale[j];
  denseForward(c, W, rows, cols, middle.data(), out, 1, WEIGHT_PLAIN);
}

// Paige's ordering: w −= previousBeta · previous, alpha = qᵀw, w −= alpha q, beta = ‖w‖, and, when
// beta > 0, previous = w / beta (the next vector; the old one is no longer needed). The same arithmetic
// as lanczos.ts's TypeScript loop, in three passes on every thread instead of five JavaScript passes.
void lanczosRecurrence(const Context& c, double* previous, const double* q, double* w, long n, double previousBeta, double* alphaBeta) {
  const int threads = threadsFor(c, (double)n * 4);
  const int used = std::max(1, std::min(threads, c.parallel.size()));
  std::vector<double> partial((size_t)used);
  // w −= c·v on every thread, then Σ u·w over the updated w.
  const auto subtractThenDot = [&](double factor, const double* v, const double* u) {
    c.parallel.run(threads, [&](int part, int parts) {
      const Range r = share(n, part, parts);
      partial[(size_t)part] = c.kernels.subtractDot(v, factor, w, u, r.begin, r.end);
    });
    double sum = 0;
    for (int t = 0; t < used; t++) sum += partial[(size_t)t];
    return sum;
  };
  const double alpha = subtractThenDot(previousBeta, previous, q);
  const double beta = std::sqrt(subtractThenDot(alpha, q, w));
  if (beta > 0) {
    const double inverse = 1 / beta;
    c.parallel.run(threads, [&](int part, int parts) {
      const Range r = share(n, part, parts);
      for (long i = r.begin; i < r.end; i++) previous[i] = w[i] * inverse;
    });
  }
  alphaBeta[0] = alpha;
  alphaBeta[1] = beta;
}

void matVec(const Context& c, const double* A, long rows, long cols, const double* x, double* y) {
  c.parallel.run(threadsFor(c, (double)rows * cols), [&](int part, int parts) {
    const Range r = share(rows, part, parts);
    c.kernels.partialDots(A + r.begin * cols, cols, (int)(r.end - r.begin), x, y + r.begin, 0, cols);
  });
}

// Each entry one float64 dot product of `inner` terms (the γ_inner bound of certifiedNorm.ts holds for any order).
void gramMatrix(const Context& c, const double* B, long k, long inner, double* G) {
  // Rows split so each thread gets about the same share of the lower triangle.
  c.parallel.run(threadsFor(c, (double)k * k * inner / 2), [&](int part, int parts) {
    const long begin = (long)std::llround(k * std::sqrt((double)part / parts));
    const long end = (long)std::llround(k * std::sqrt((double)(part + 1) / parts));
    c.kernels.gramRows(B, inner, begin, end, G, k);
  });
  for (long i = 0; i < k; i++)
    for (long j = 0; j < i; j++) G[j * k + i] = G[i * k + j];
}

// [Σ weighted e_ij², Σ ‖l_i‖², Σ weighted m_ij²] for E = M − L Lᵀ over the lower triangle (weight 2
// off the diagonal): the sums choleskyCertificate.ts turns into a rigorous bound.
bool choleskyResidual(const Context& c, const double* M, long k, double* sums) {
  const Kernels& kernels = c.kernels;
  std::vector<double> L((size_t)k * k, 0.0);
  for (long j = 0; j < k; j++) {
    double* lj = L.data() + j * k;
    // Each sum is one float64 dot product (any order keeps the γ bounds of choleskyCertificate.ts),
    // so the per-ISA vector dot serves it.
    double dot = 0;
    if (j > 0) kernels.partialDots(lj, k, 1, lj, &dot, 0, j);
    const double pivot = M[j * k + j] - dot;
    if (!(pivot > 0)) return false;
    const double ljj = std::sqrt(pivot);
    lj[j] = ljj;
    c.parallel.run(threadsFor(c, (double)(k - j) * j), [&](int part, int parts) {
      const Range r = share(k - j - 1, part, parts);
      for (long i = j + 1 + r.begin; i < j + 1 + r.end; i++) {
        double* li = L.data() + i * k;
        double sum = 0;
        if (j > 0) kernels.partialDots(lj, k, 1, li, &sum, 0, j);
        li[j] = (M[i * k + j] - sum) / ljj;
      }
    });
  }
  const int size = c.parallel.size();
  std::vector<double> residual((size_t)size), rowNorms((size_t)size), squares((size_t)size);
  c.parallel.run(threadsFor(c, (double)k * k * k / 6), [&](int part, int parts) {
    const long begin = (long)std::llround(k * std::sqrt((double)part / parts));
    const long end = (long)std::llround(k * std::sqrt((double)(part + 1) / parts));
    double e2 = 0, rn = 0, m2 = 0;
    std::vector<double> products((size_t)k);
    for (long i = begin; i < end; i++) {
      const double* li = L.data() + i * k;
      // (L Lᵀ)_ij for every j ≤ i at once: l_j is zero beyond p = j, so the extra terms are exact zeros.
      kernels.partialDots(L.data(), k, (int)(i + 1), li, products.data(), 0, i + 1);
      rn += products[(size_t)i];
      for (long j = 0; j <= i; j++) {
        const double e = M[i * k + j] - products[(size_t)j];
        const double weight = i == j ? 1 : 2;
        e2 += weight * e * e;
        m2 += weight * M[i * k + j] * M[i * k + j];
      }
    }
    residual[(size_t)part] = e2;
    rowNorms[(size_t)part] = rn;
    squares[(size_t)part] = m2;
  });
  sums[0] = sums[1] = sums[2] = 0;
  for (size_t t = 0; t < residual.size(); t++) {
    sums[0] += residual[t];
    sums[1] += rowNorms[t];
    sums[2] += squares[t];
  }
  return true;
}
