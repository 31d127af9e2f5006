// N-API module of the fast operator path: the operations of operations.h (float64 convolution, dense
// and Lanczos-recurrence kernels of kernelsImpl.h) behind a persistent pool of threads, with the
// instruction set chosen once at load. Every entry point validates its arguments and throws a
// JavaScript error naming the bad one; the engine's TypeScript operators (src/engine/operators) are the
// reference these must agree with.

#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"
#include "operations.h"

namespace {

// The widest instruction set the CPU has; LIPSCHITZ_LENS_ISA=avx2|generic asks for a narrower one
// (the tests run every build against the TypeScript reference this way).
Kernels chooseKernels() {
  const char* requested = std::getenv("LIPSCHITZ_LENS_ISA");
  const std::string cap = requested ? requested : "";
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (cap != "avx2" && cap != "generic" && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return LL_KERNELS("avx512", avx512);
  if (cap != "generic" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LL_KERNELS("avx2", avx2);
#endif
  return LL_KERNELS("generic", generic);
}

const Kernels K = chooseKernels();

// A fixed set of worker threads; run() hands every thread (the caller is thread 0) the same job and
// returns when all have finished it. Jobs partition their work statically by thread index, so results
// do not depend on scheduling.
class Pool : public Parallel {
 public:
  ~Pool() { resize(1); }

  void startOnce() {
    std::call_once(started_, [this] { resize((int)std::max(1u, std::thread::hardware_concurrency())); });
  }

  int size() const override { return (int)workers_.size() + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> serial(callers_);
    threads = std::max(1, threads);
    if (threads == size()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_++;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    for (int i = 1; i < threads; i++) workers_.emplace_back([this, i] { loop(i); });
  }

  void run(int threads, const std::function<void(int, int)>& job) override {
    // One caller at a time: the module may be loaded by several worker threads of one process.
    std::lock_guard<std::mutex> serial(callers_);
    threads = std::max(1, std::min(threads, size()));
    if (threads == 1) {
      job(0, 1);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      active_ = threads;
      pending_ = threads - 1;
      generation_++;
    }
    wake_.notify_all();
    job(0, threads);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop(int index) {
    long seen = 0;
    for (;;) {
      const std::function<void(int, int)>* job;
      int active;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        job = job_;
        active = active_;
      }
      if (job && index < active) {
        (*job)(index, active);
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex callers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int, int)>* job_ = nullptr;
  int active_ = 0;
  int pending_ = 0;
  long generation_ = 0;
  bool stop_ = false;
  std::once_flag started_;
};

Pool pool;
const Context context{K, pool};

// ---- argument helpers ----

struct ArgumentError {
  std::string message;
};

napi_value throwError(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

template <typename T>
T* typedArray(napi_env env, napi_value value, napi_typedarray_type expected, size_t length, const char* what) {
  bool is = false;
  napi_is_typedarray(env, value, &is);
  if (!is) throw ArgumentError{std::string(what) + " is not a typed array"};
  napi_typedarray_type type;
  size_t actual;
  void* data;
  napi_get_typedarray_info(env, value, &type, &actual, &data, nullptr, nullptr);
  if (type != expected) {
    throw ArgumentError{std::string(what) + (expected == napi_float64_array ? " must be a Float64Array" : expected == napi_float32_array ? " must be a Float32Array" : " must be an Int32Array")};
  }
  if (length != (size_t)-1 && actual != length) {
    throw ArgumentError{std::string(what) + " has " + std::to_string(actual) + " values, expected " + std::to_string(length)};
  }
  return static_cast<T*>(data);
}

size_t lengthOf(napi_env env, napi_value value) {
  napi_typedarray_type type;
  size_t length = 0;
  napi_get_typedarray_info(env, value, &type, &length, nullptr, nullptr, nullptr);
  return length;
}

// Sizes, counts and batches: whole numbers from `min` to 2^31 (typed arrays hold at most 2^32 values).
long integer(napi_env env, napi_value value, const char* what, long min) {
  double result;
  if (napi_get_value_double(env, value, &result) != napi_ok) throw ArgumentError{std::string(what) + " is not a number"};
  if (!(result == std::floor(result)) || result < (double)min || result > 2147483648.0) {
    throw ArgumentError{std::string(what) + " must be a whole number from " + std::to_string(min) + " to 2^31, got " + std::to_string(result)};
  }
  return (long)result;
}

// a · b as a length, refusing products that would wrap (and so pass a length check they should fail).
size_t elements(long a, long b, const char* what) {
  long product;
  if (__builtin_mul_overflow(a, b, &product)) throw ArgumentError{std::string(what) + ": size overflows"};
  return (size_t)product;
}

// The weight mode argument: 0 plain, 1 squared, 2 absolute (true and false stand for squared and plain).
int weightMode(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type == napi_boolean) {
    bool squared = false;
    napi_get_value_bool(env, value, &squared);
    return squared ? WEIGHT_SQUARED : WEIGHT_PLAIN;
  }
  const long mode = integer(env, value, "weight mode", 0);
  if (mode > WEIGHT_ABSOLUTE) throw ArgumentError{"weight mode must be 0 (plain), 1 (squared) or 2 (absolute)"};
  return (int)mode;
}

bool boolean(napi_env env, napi_value value) {
  bool result = false;
  napi_get_value_bool(env, value, &result);
  return result;
}

std::vector<napi_value> arguments(napi_env env, napi_callback_info info, size_t count) {
  std::vector<napi_value> args(count);
  size_t given = count;
  napi_get_cb_info(env, info, &given, args.data(), nullptr, nullptr);
  if (given < count) throw ArgumentError{"expected " + std::to_string(count) + " arguments, got " + std::to_string(given)};
  return args;
}

template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const ArgumentError& error) {
    return throwError(env, error.message);
  } catch (const std::bad_alloc&) {
    return throwError(env, "native kernels: out of memory");
  }
}

napi_value numberArray(napi_env env, std::initializer_list<double> values) {
  napi_value result;
  napi_create_array_with_length(env, values.size(), &result);
  uint32_t i = 0;
  for (double v : values) {
    napi_value value;
    napi_create_double(env, v, &value);
    napi_set_element(env, result, i++, value);
  }
  return result;
}

napi_value undefinedValue(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

// ---- convolution ----

void finalizePlan(napi_env, void* data, void*) { delete static_cast<ConvPlan*>(data); }

ConvPlan* planOf(napi_env env, napi_value value) {
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) throw ArgumentError{"conv plan is not a plan from convPlan()"};
  return static_cast<ConvPlan*>(data);
}

// convPlan(weight: Float32Array, shape: Int32Array(15)) → external
napi_value convPlan(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 2);
    const int32_t* s = typedArray<int32_t>(env, args[1], napi_int32_array, 15, "conv shape");
    ConvShape g{s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14]};
    for (int i = 0; i < 15; i++) {
      if (s[i] < (i == 10 || i == 11 ? 0 : 1)) throw ArgumentError{"conv shape entry " + std::to_string(i) + " is " + std::to_string(s[i])};
    }
    if (g.inChannels % g.group || g.outChannels % g.group) throw ArgumentError{"conv group does not divide the channels"};
    std::unique_ptr<ConvPlan> plan(new ConvPlan());
    if (!convPlanSizes(g, *plan)) throw ArgumentError{"conv shape: a size overflows"};
    const float* w = typedArray<float>(env, args[0], napi_float32_array, elements(g.outChannels, plan->K, "conv weight"), "conv weight");
    convPlanPack(context, w, *plan);
    napi_value result;
    napi_create_external(env, plan.get(), finalizePlan, nullptr, &result);
    plan.release();
    return result;
  });
}

// convForward(plan, x: Float64Array(batch·in), y: Float64Array(batch·out), batch, weight mode)
napi_value convForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 5);
    ConvPlan* plan = planOf(env, args[0]);
    const long batch = integer(env, args[3], "batch", 1);
    const double* x = typedArray<double>(env, args[1], napi_float64_array, elements(batch, plan->inSize, "conv input"), "conv input");
    double* y = typedArray<double>(env, args[2], napi_float64_array, elements(batch, plan->outSize, "conv output"), "conv output");
    ::convForward(context, *plan, x, y, batch, weightMode(env, args[4]));
    return undefinedValue(env);
  });
}

// convAdjoint(plan, y: Float64Array(batch·out), x: Float64Array(batch·in), batch): x = Aᵀ y
napi_value convAdjoint(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 4);
    ConvPlan* plan = planOf(env, args[0]);
    const long batch = integer(env, args[3], "batch", 1);
    const double* y = typedArray<double>(env, args[1], napi_float64_array, elements(batch, plan->outSize, "conv adjoint input"), "conv adjoint input");
    double* x = typedArray<double>(env, args[2], napi_float64_array, elements(batch, plan->inSize, "conv adjoint output"), "conv adjoint output");
    ::convAdjoint(context, *plan, y, x, batch);
    return undefinedValue(env);
  });
}

// convGram(plan, v, scale, out, outputSide): the products Lanczos iterates. Input side (v, out of the
// input's size, scale of the output's): out = Aᵀ diag(scale) A v. Output side (v, out of the output's
// size, scale of the input's): out = A diag(scale) Aᵀ v.
napi_value convGram(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 5);
    ConvPlan* plan = planOf(env, args[0]);
    const bool outputSide = boolean(env, args[4]);
    const long size = outputSide ? plan->outSize : plan->inSize;
    const long middleSize = outputSide ? plan->inSize : plan->outSize;
    const double* v = typedArray<double>(env, args[1], napi_float64_array, (size_t)size, "conv gram input");
    const double* scale = typedArray<double>(env, args[2], napi_float64_array, (size_t)middleSize, "conv gram scale");
    double* out = typedArray<double>(env, args[3], napi_float64_array, (size_t)size, "conv gram output");
    ::convGram(context, *plan, v, scale, out, outputSide);
    return undefinedValue(env);
  });
}

// ---- dense ----

struct DenseArgs {
  const float* W;
  long rows, cols;
};

DenseArgs denseArgs(napi_env env, const std::vector<napi_value>& args) {
  const long rows = integer(env, args[1], "dense rows", 1);
  const long cols = integer(env, args[2], "dense columns", 1);
  const float* W = typedArray<float>(env, args[0], napi_float32_array, elements(rows, cols, "dense weight"), "dense weight");
  return {W, rows, cols};
}

// denseForward(W, rows, cols, x(batch·cols), y(batch·rows), batch, weight mode)
napi_value denseForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 7);
    const DenseArgs d = denseArgs(env, args);
    const long batch = integer(env, args[5], "batch", 1);
    const double* x = typedArray<double>(env, args[3], napi_float64_array, elements(batch, d.cols, "dense input"), "dense input");
    double* y = typedArray<double>(env, args[4], napi_float64_array, elements(batch, d.rows, "dense output"), "dense output");
    ::denseForward(context, d.W, d.rows, d.cols, x, y, batch, weightMode(env, args[6]));
    return undefinedValue(env);
  });
}

// denseAdjoint(W, rows, cols, y(batch·rows), x(batch·cols), batch)
napi_value denseAdjoint(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 6);
    const DenseArgs d = denseArgs(env, args);
    const long batch = integer(env, args[5], "batch", 1);
    const double* y = typedArray<double>(env, args[3], napi_float64_array, elements(batch, d.rows, "dense adjoint input"), "dense adjoint input");
    double* x = typedArray<double>(env, args[4], napi_float64_array, elements(batch, d.cols, "dense adjoint output"), "dense adjoint output");
    ::denseAdjoint(context, d.W, d.rows, d.cols, y, x, batch);
    return undefinedValue(env);
  });
}

// denseGram(W, rows, cols, scale(rows), x(batch·cols), out(batch·cols), batch): out = Wᵀ diag(scale) W x
napi_value denseGram(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 7);
    const DenseArgs d = denseArgs(env, args);
    const long batch = integer(env, args[6], "batch", 1);
    const double* scale = typedArray<double>(env, args[3], napi_float64_array, (size_t)d.rows, "dense gram scale");
    const double* x = typedArray<double>(env, args[4], napi_float64_array, elements(batch, d.cols, "dense gram input"), "dense gram input");
    double* out = typedArray<double>(env, args[5], napi_float64_array, elements(batch, d.cols, "dense gram output"), "dense gram output");
    ::denseGram(context, d.W, d.rows, d.cols, scale, x, out, batch);
    return undefinedValue(env);
  });
}

// denseGramOutput(W, rows, cols, scale(cols), y(rows), out(rows)): out = W diag(scale) Wᵀ y.
napi_value denseGramOutput(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 6);
    const DenseArgs d = denseArgs(env, args);
    const double* scale = typedArray<double>(env, args[3], napi_float64_array, (size_t)d.cols, "dense gram scale");
    const double* y = typedArray<double>(env, args[4], napi_float64_array, (size_t)d.rows, "dense gram input");
    double* out = typedArray<double>(env, args[5], napi_float64_array, (size_t)d.rows, "dense gram output");
    ::denseGramOutput(context, d.W, d.rows, d.cols, scale, y, out);
    return undefinedValue(env);
  });
}

// ---- the Lanczos three-term recurrence ----

// lanczosRecurrence(previous, q, w, previousBeta) → [alpha, beta]: one step of the plain Lanczos
// recurrence on w = S q (operations.cc).
napi_value lanczosRecurrence(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 4);
    const double* q = typedArray<double>(env, args[1], napi_float64_array, (size_t)-1, "current vector");
    const size_t length = lengthOf(env, args[1]);
    if (length < 1) throw ArgumentError{"vectors must hold at least one value"};
    double* previous = typedArray<double>(env, args[0], napi_float64_array, length, "previous vector");
    double* w = typedArray<double>(env, args[2], napi_float64_array, length, "product");
    double previousBeta;
    if (napi_get_value_double(env, args[3], &previousBeta) != napi_ok || !std::isfinite(previousBeta)) throw ArgumentError{"previous beta is not a finite number"};
    if (previous == w || q == w || previous == q) throw ArgumentError{"previous, current and product must be three different arrays"};
    double alphaBeta[2];
    ::lanczosRecurrence(context, previous, q, w, (long)length, previousBeta, alphaBeta);
    return numberArray(env, {alphaBeta[0], alphaBeta[1]});
  });
}

// ---- dense float64 helpers of the exact (small-operator) path ----

// matVec(A: Float64Array(rows·cols), rows, cols, x(cols), y(rows)): y = A x.
napi_value matVec(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 5);
    const long rows = integer(env, args[1], "rows", 1);
    const long cols = integer(env, args[2], "columns", 1);
    const double* A = typedArray<double>(env, args[0], napi_float64_array, elements(rows, cols, "matrix"), "matrix");
    const double* x = typedArray<double>(env, args[3], napi_float64_array, (size_t)cols, "vector");
    double* y = typedArray<double>(env, args[4], napi_float64_array, (size_t)rows, "result");
    ::matVec(context, A, rows, cols, x, y);
    return undefinedValue(env);
  });
}

// gramMatrix(B: Float64Array(k·inner), k, inner, G: Float64Array(k·k)): G = B Bᵀ.
napi_value gramMatrix(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 4);
    const long k = integer(env, args[1], "rows", 1);
    const long inner = integer(env, args[2], "inner dimension", 1);
    const double* B = typedArray<double>(env, args[0], napi_float64_array, elements(k, inner, "block"), "block");
    double* G = typedArray<double>(env, args[3], napi_float64_array, elements(k, k, "gram"), "gram");
    ::gramMatrix(context, B, k, inner, G);
    return undefinedValue(env);
  });
}

// choleskyResidual(M: Float64Array(k·k), k) → null when a pivot is not positive, else the three sums
// of operations.cc.
napi_value choleskyResidual(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 2);
    const long k = integer(env, args[1], "order", 1);
    const double* M = typedArray<double>(env, args[0], napi_float64_array, elements(k, k, "matrix"), "matrix");
    double sums[3];
    if (!::choleskyResidual(context, M, k, sums)) {
      napi_value result;
      napi_get_null(env, &result);
      return result;
    }
    return numberArray(env, {sums[0], sums[1], sums[2]});
  });
}

// ---- module ----

napi_value setThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 1);
    pool.resize((int)std::min<long>(integer(env, args[0], "threads", 1), 64));
    return undefinedValue(env);
  });
}

napi_value describe(napi_env env, napi_callback_info) {
  napi_value result, isa, threads;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, K.name, NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, pool.size(), &threads);
  napi_set_named_property(env, result, "isa", isa);
  napi_set_named_property(env, result, "threads", threads);
  return result;
}

napi_value init(napi_env env, napi_value exports) {
  pool.startOnce();
  const napi_property_descriptor properties[] = {
      {"convPlan", nullptr, convPlan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convForward", nullptr, convForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convAdjoint", nullptr, convAdjoint, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convGram", nullptr, convGram, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseForward", nullptr, denseForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseAdjoint", nullptr, denseAdjoint, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseGram", nullptr, denseGram, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseGramOutput", nullptr, denseGramOutput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lanczosRecurrence", nullptr, lanczosRecurrence, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matVec", nullptr, matVec, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gramMatrix", nullptr, gramMatrix, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"choleskyResidual", nullptr, choleskyResidual, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, setThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describe", nullptr, describe, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return init(env, exports); }
