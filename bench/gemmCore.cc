// The float64 GEMM core of the conv kernels (src/native/kernelsImpl.h: packed A panels × im2col blocks of
// PB positions) against maintained libraries on the benchmark's conv layers, one thread each, in one
// process: Eigen (headers), and OpenBLAS and BLIS loaded with dlopen from the paths given (Debian's
// libopenblas0-pthread and libblis4-pthread; `apt-get download` and `dpkg -x` give them without
// installing anything). The libraries get the whole product (their best case, no blocking imposed);
// the micro-kernels run it block by block as convForwardTask does. im2col is left out of both.
//
//   g++ -O3 -std=gnu++17 -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -I/usr/include/eigen3 \
//     bench/gemmCore.cc -o /tmp/gemmCore -ldl
//   /tmp/gemmCore OPENBLAS.so BLIS.so
//
// Prints GFLOP/s per layer and library: the best of five rounds of at least 0.2 s each, the rounds
// taking turns between the libraries, so that a shared machine's load falls on all of them alike.

#include <dlfcn.h>

#include <Eigen/Core>
#include <chrono>
#include <functional>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#define KERNEL_NS avx512
#include "../src/native/kernelsImpl.h"

namespace {

struct Layer {
  const char* name;
  int M, K, N;
};

// outChannels, inChannels·kh·kw, output positions (bench/models.ts).
const Layer LAYERS[] = {
    {"alexnet conv0", 64, 3 * 11 * 11, 55 * 55},   {"alexnet conv2", 192, 64 * 25, 27 * 27},
    {"alexnet conv4", 384, 192 * 9, 13 * 13},      {"alexnet conv5", 256, 384 * 9, 13 * 13},
    {"alexnet conv6", 256, 256 * 9, 13 * 13},      {"cifar10 conv1", 32, 32 * 9, 28 * 28},
    {"vgg16 conv1_2", 64, 64 * 9, 224 * 224},      {"vgg16 conv4_2", 512, 512 * 9, 28 * 28},
    {"vgg16 conv5_3", 512, 512 * 9, 14 * 14},
};

using Clock = std::chrono::steady_clock;
// Row-major C = A·B, as cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ...) takes it.
using Dgemm = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Seconds per run of `run`, from one round of at least 0.2 s.
double round(const std::function<void()>& run) {
  const auto start = Clock::now();
  int count = 0;
  do {
    run();
    count++;
  } while (seconds(start) < 0.2);
  return seconds(start) / count;
}

// GFLOP/s of each contestant: the best of five rounds, the rounds taking turns between the contestants.
std::vector<double> bestRates(double flops, const std::vector<std::function<void()>>& contestants) {
  std::vector<double> best(contestants.size(), 1e30);
  for (const auto& run : contestants) run();
  for (int rep = 0; rep < 5; rep++) {
    for (size_t c = 0; c < contestants.size(); c++) best[c] = std::min(best[c], round(contestants[c]));
  }
  std::vector<double> rates;
  for (double seconds : best) rates.push_back(flops / seconds / 1e9);
  return rates;
}

Dgemm load(const char* path, const char* threadsSymbol) {
  void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    std::fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return nullptr;
  }
  if (auto setThreads = reinterpret_cast<void (*)(int)>(dlsym(library, threadsSymbol))) setThreads(1);
  return reinterpret_cast<Dgemm>(dlsym(library, "cblas_dgemm"));
}

}  // namespace

int main(int argc, char** argv) {
  const Dgemm openblas = argc > 1 ? load(argv[1], "openblas_set_num_threads") : nullptr;
  const Dgemm blis = argc > 2 ? load(argv[2], "bli_thread_set_num_threads") : nullptr;
  std::printf("layer\tM\tK\tN\tmicro-kernels\tEigen\tOpenBLAS\tBLIS\t(GFLOP/s, float64, 1 thread)\n");
  std::mt19937_64 random(1);
  std::normal_distribution<double> gaussian;
  for (const Layer& layer : LAYERS) {
    const int blocks = (layer.N + avx512::PB - 1) / avx512::PB;
    const int padded = blocks * avx512::PB;
    std::vector<float> weights((size_t)layer.M * layer.K);
    for (float& w : weights) w = (float)gaussian(random);
    std::vector<double> A(weights.begin(), weights.end());
    std::vector<double> B((size_t)layer.K * padded);
    for (double& b : B) b = gaussian(random);
    std::vector<double> panels((size_t)avx512::panelSize(layer.M, layer.K));
    avx512::packPanels(weights.data(), layer.M, layer.K, false, panels.data());
    const int rowsPadded = (layer.M + avx512::MR - 1) / avx512::MR * avx512::MR;
    std::vector<double> C((size_t)rowsPadded * padded);
    const double flops = 2.0 * layer.M * layer.K * layer.N;

    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMajor> eA(A.data(), layer.M, layer.K);
    Eigen::Map<const RowMajor> eB(B.data(), layer.K, layer.N);
    Eigen::Map<RowMajor> eC(C.data(), layer.M, layer.N);
    Eigen::setNbThreads(1);
    std::vector<std::function<void()>> contestants = {
        [&] {
          // One im2col block (K × PB, contiguous) after another, as convForwardTask runs them.
          for (int b = 0; b < blocks; b++) {
            avx512::gemm<WEIGHT_PLAIN>(0, rowsPadded, layer.K, avx512::PB, panels.data(), B.data() + (size_t)b * layer.K * avx512::PB,
                                       C.data() + (size_t)b * rowsPadded * avx512::PB);
          }
        },
        [&] { eC.noalias() = eA * eB; },
    };
    for (Dgemm dgemm : {openblas, blis}) {
      if (dgemm) {
        contestants.push_back([&, dgemm] {
          dgemm(101, 111, 111, layer.M, layer.N, layer.K, 1.0, A.data(), layer.K, B.data(), layer.N, 0.0, C.data(), layer.N);
        });
      }
    }
    std::vector<double> rates = bestRates(flops, contestants);
    rates.resize(4, 0.0);
    const double ours = rates[0], eigen = rates[1];
    const double openblasRate = openblas ? rates[2] : 0.0;
    const double blisRate = blis ? rates[openblas ? 3 : 2] : 0.0;
    std::printf("%s\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", layer.name, layer.M, layer.K, layer.N, ours, eigen, openblasRate, blisRate);
    std::fflush(stdout);
  }
}
