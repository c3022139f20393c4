#include "runtime/cpu/blas_gemm.h"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <climits>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <type_traits>
#include <vector>

#include "core/host_memory.h"
#include "dcnjit/error.h"

namespace dcnjit::cpu {
namespace {

using dnnl::memory;

// oneDNN (Debian's build) threads with OpenMP and sizes a primitive's blocking for omp_get_max_threads()
// when it is created. The backend wants single-threaded primitives that run inside its own work items,
// so creation and execution see one OpenMP thread; the caller's setting is restored afterwards (the
// pool's worker threads and the user's thread alike).
class OneOpenMpThread {
 public:
  OneOpenMpThread() : saved_(omp_get_max_threads()) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~OneOpenMpThread() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  OneOpenMpThread(const OneOpenMpThread&) = delete;
  OneOpenMpThread& operator=(const OneOpenMpThread&) = delete;

 private:
  int saved_;
};

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Per thread: a stream (streams are not thread-safe) and the primitives' scratchpad (user-managed, so
// concurrent runs never share one, whatever oneDNN's concurrency build option).
struct ThreadState {
  dnnl::stream stream{cpu_engine()};
  std::vector<char> scratchpad;
};
ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

template <typename T>
memory::data_type onednn_type() {
  if constexpr (std::is_same_v<T, float>) return memory::data_type::f32;
  else return memory::data_type::bf16;
}

Error onednn_error(const char* what, const GemmShape& s, const dnnl::error& e) {
  return Error(ErrorCode::Internal, fmt::format("cpu backend: oneDNN {} failed for GEMM m={} n={} k={}: {}", what, s.m,
                                                s.n, s.k, e.what()));
}

int blas_int(int64_t value, const char* name) {
  if (value < 0 || value > INT_MAX)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cpu backend: GEMM {}={} exceeds the 32-bit range of CBLAS", name, value));
  return int(value);
}

}  // namespace

const char* to_string(GemmLibrary library) { return library == GemmLibrary::onednn ? "onednn" : "openblas"; }

void* PackedStore::slot(std::size_t index, std::size_t bytes) {
  if (buffers_.size() <= index) buffers_.resize(index + 1);
  Buffer& b = buffers_[index];
  if (b.bytes < bytes) {
    b.memory.reset();
    b.bytes = 0;
    detail::allocate_host("cpu packed weights", bytes + 64, [&] { b.memory.reset(new char[bytes + 64]); });
    b.bytes = bytes;
  }
  const auto address = reinterpret_cast<std::uintptr_t>(b.memory.get());
  return b.memory.get() + (64 - address % 64) % 64;
}

template <typename In, typename Out>
struct Gemm<In, Out>::Impl {
  using Source = typename Gemm<In, Out>::Source;
  GemmLibrary library;
  // oneDNN
  memory::desc a_md, b_md, c_md;
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
  std::size_t scratchpad_bytes = 0;
  memory packed_b;  // the fixed B in the primitive's layout; empty when B comes with each run
  const Source* fixed_b = nullptr;  // the caller's fixed B (OpenBLAS multiplies it as it is)

  static dnnl::primitive_attr attributes(const GemmShape& s) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (s.accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    return attr;
  }

  // The primitive for shape `s`; with `fixed`, its weights are "any" (the layout its kernels read best).
  void create(const GemmShape& s, bool fixed) {
    if (library == GemmLibrary::openblas) {
      if constexpr (std::is_same_v<In, Bf16>) {
        throw Error(ErrorCode::Unsupported, "cpu backend: OpenBLAS has no bf16 GEMM here; use gemm=onednn");
      } else {
        for (auto [value, name] : {std::pair{s.m, "M"}, {s.n, "N"}, {s.k, "K"}, {s.lda, "lda"}, {s.ldb, "ldb"},
                                   {s.ldc, "ldc"}})
          blas_int(value, name);
      }
      return;
    }
    if constexpr (std::is_same_v<In, double>) {
      throw Error(ErrorCode::Unsupported, "cpu backend: oneDNN has no f64 GEMM; f64 runs on gemm=openblas");
    } else {
      try {
        const OneOpenMpThread one_thread;
        const memory::data_type in = onednn_type<In>();
        a_md = memory::desc({s.m, s.k}, in, memory::dims{s.lda, 1});
        b_md = memory::desc({s.k, s.n}, in, s.b_transposed ? memory::dims{1, s.ldb} : memory::dims{s.ldb, 1});
        c_md = memory::desc({s.m, s.n}, memory::data_type::f32, memory::dims{s.ldc, 1});
        const memory::desc weights = fixed ? memory::desc({s.k, s.n}, in, memory::format_tag::any) : b_md;
        pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, weights, c_md), attributes(s), cpu_engine());
        primitive = dnnl::matmul(pd);
        scratchpad_bytes = pd.scratchpad_desc().get_size();
      } catch (const dnnl::error& e) {
        throw onednn_error("matmul creation", s, e);
      }
    }
  }

  // Packs the fixed B (held as Source) into the primitive's weights layout, in `storage` when given.
  void pack(const GemmShape& s, const Source* b, void* storage) {
    fixed_b = b;
    if (library == GemmLibrary::openblas) return;
    if constexpr (!std::is_same_v<In, double>) {
      try {
        const OneOpenMpThread one_thread;
        const memory::desc source({s.k, s.n}, memory::data_type::f32,
                                  s.b_transposed ? memory::dims{1, s.ldb} : memory::dims{s.ldb, 1});
        packed_b = storage ? memory(pd.weights_desc(), cpu_engine(), storage) : memory(pd.weights_desc(), cpu_engine());
        memory plain(source, cpu_engine(), const_cast<Source*>(b));
        ThreadState& state = thread_state();
        dnnl::reorder(plain, packed_b).execute(state.stream, plain, packed_b);
        state.stream.wait();
      } catch (const dnnl::error& e) {
        throw onednn_error("weight packing", s, e);
      }
    }
  }
};

template <typename In, typename Out>
Gemm<In, Out>::Gemm(GemmLibrary library, const GemmShape& shape) : shape_(shape), impl_(std::make_shared<Impl>()) {
  impl_->library = library;
  impl_->create(shape, false);
}

template <typename In, typename Out>
Gemm<In, Out>::Gemm(GemmLibrary library, const GemmShape& shape, const Source* fixed_b, PackedStore* store,
                    std::size_t slot)
    : shape_(shape), impl_(std::make_shared<Impl>()) {
  impl_->library = library;
  impl_->create(shape, true);
  void* storage = nullptr;
  if (store && library == GemmLibrary::onednn) {
    if constexpr (!std::is_same_v<In, double>) storage = store->slot(slot, impl_->pd.weights_desc().get_size());
  }
  impl_->pack(shape, fixed_b, storage);
}

template <typename In, typename Out>
Gemm<In, Out> Gemm<In, Out>::with_rows(int64_t m) const {
  Gemm other;
  other.shape_ = shape_;
  other.shape_.m = m;
  other.impl_ = std::make_shared<Impl>();
  other.impl_->library = impl_->library;
  const bool fixed = impl_->fixed_b != nullptr;
  other.impl_->create(other.shape_, fixed);
  if (!fixed) return other;
  other.impl_->fixed_b = impl_->fixed_b;
  if constexpr (!std::is_same_v<In, double>) {
    if (impl_->library == GemmLibrary::onednn) {
      if (other.impl_->pd.weights_desc() == impl_->pd.weights_desc())
        other.impl_->packed_b = impl_->packed_b;  // the same bytes serve both
      else
        other.impl_->pack(other.shape_, impl_->fixed_b, nullptr);
    }
  }
  return other;
}

template <typename In, typename Out>
Gemm<In, Out>::~Gemm() = default;
template <typename In, typename Out>
Gemm<In, Out>::Gemm(Gemm&&) noexcept = default;
template <typename In, typename Out>
Gemm<In, Out>& Gemm<In, Out>::operator=(Gemm&&) noexcept = default;

template <typename In, typename Out>
void Gemm<In, Out>::run(const In* a, const In* b, Out* c) const {
  const GemmShape& s = shape_;
  if (s.m == 0 || s.n == 0) return;
  if (impl_->library == GemmLibrary::openblas) {
    if constexpr (std::is_same_v<In, float> || std::is_same_v<In, double>) {
      if (impl_->fixed_b) b = impl_->fixed_b;  // Source is In for OpenBLAS
      const CBLAS_TRANSPOSE tb = s.b_transposed ? CblasTrans : CblasNoTrans;
      const In beta = s.accumulate ? In(1) : In(0);
      if constexpr (std::is_same_v<In, float>)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, int(s.m), int(s.n), int(s.k), 1.0f, a, int(s.lda), b, int(s.ldb),
                    beta, c, int(s.ldc));
      else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, int(s.m), int(s.n), int(s.k), 1.0, a, int(s.lda), b, int(s.ldb),
                    beta, c, int(s.ldc));
    }
    return;
  }
  if constexpr (!std::is_same_v<In, double>) {
    try {
      const OneOpenMpThread one_thread;
      ThreadState& state = thread_state();
      if (state.scratchpad.size() < impl_->scratchpad_bytes) state.scratchpad.resize(impl_->scratchpad_bytes);
      const dnnl::engine& engine = cpu_engine();
      memory a_mem(impl_->a_md, engine, const_cast<In*>(a));
      memory c_mem(impl_->c_md, engine, c);
      memory scratch(impl_->pd.scratchpad_desc(), engine, state.scratchpad.data());
      memory b_mem = impl_->packed_b ? impl_->packed_b : memory(impl_->b_md, engine, const_cast<In*>(b));
      impl_->primitive.execute(state.stream, {{DNNL_ARG_SRC, a_mem},
                                              {DNNL_ARG_WEIGHTS, b_mem},
                                              {DNNL_ARG_DST, c_mem},
                                              {DNNL_ARG_SCRATCHPAD, scratch}});
      state.stream.wait();
    } catch (const dnnl::error& e) {
      throw onednn_error("matmul", s, e);
    }
  }
}

bool cpu_has_native_bf16() {
  static const bool has = [] {
    const auto isa = unsigned(dnnl::get_effective_cpu_isa());
    const auto bf16 = unsigned(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;
  }();
  return has;
}

void pin_blas_to_one_thread() { openblas_set_num_threads(1); }

template class Gemm<float, float>;
template class Gemm<double, double>;
template class Gemm<Bf16, float>;

}  // namespace dcnjit::cpu
