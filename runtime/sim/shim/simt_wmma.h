// nvcuda::wmma for the SIMT shim: the warp-level tensor-core API of CUDA's <mma.h>, emulated
// (kernels `#include <mma.h>`; the sim finds this through dcnjit_sim/cuda/mma.h). What is emulated,
// with CUDA's names and signatures:
//   fragment<matrix_a, 16, 16, 16, __half | __nv_bfloat16, row_major | col_major>
//   fragment<matrix_b, 16, 16, 16, __half | __nv_bfloat16, row_major | col_major>
//   fragment<accumulator, 16, 16, 16, float>
//   fragment<matrix_a, 16, 16, 8, precision::tf32, row_major | col_major>   (16 x 8, float storage)
//   fragment<matrix_b, 16, 16, 8, precision::tf32, row_major | col_major>   (8 x 16)
//   fragment<accumulator, 16, 16, 8, float>
//   members num_elements and x[]; fill_fragment; load_matrix_sync (a/b: ldm; accumulator: ldm and
//   mem_row_major | mem_col_major); mma_sync(d, a, b, c); store_matrix_sync(p, acc, ldm, layout);
//   __float_to_tf32.
// Anything else (other shapes, half accumulators, integer types) fails to compile with a message.
//
// Semantics.
//   - Every operation is warp-collective, as on the GPU: all 32 lanes of the warp call it (the same
//     operation, pointer and ldm); a lane that does not is reported like a divergent __shfl_sync.
//   - Element order. Lane l's x[i] is tile position map[l * num_elements + i] of the launch's
//     LaunchContext::wmma_maps (runtime/sim/wmma_layout.h): a plain row-major split by default, a
//     pseudo-random one under SimOptions::wmma_permutation_seed / DCNJIT_SIM_WMMA_PERMUTE. A kernel
//     may apply the same element-wise operation to all of x[] (scale, convert), never depend on
//     which element is where. num_elements is tile size / 32 (8 for 16x16, 4 for the tf32 operands);
//     CUDA's may differ (its 16-bit operand fragments hold 16 elements), which a correct kernel
//     cannot observe.
//   - mma_sync: D[i][j] = C[i][j] + sum_k A[i][k] * B[k][j], accumulated in f32 in ascending k, one
//     rounding per addition. Products of two f16/bf16 values (and of two tf32 values) are exact in
//     f32, so only the additions round. The hardware's internal order and rounding of the sum are
//     not specified; results agree with it to f32 rounding of a 16-term sum, not bit for bit.
//   - tf32: __float_to_tf32 rounds to nearest with ties away from zero to 10 explicit mantissa bits
//     (PTX cvt.rna.tf32.f32, which CUDA's __float_to_tf32 issues); mma_sync rounds its tf32 A and B
//     elements the same way (idempotent on converted values). NaN and infinities pass unchanged.
//   - Pointers: as CUDA requires, 32-byte aligned, ldm a multiple of 16 bytes.
// Counting: mma_sync counts one MMA (2*M*N*K FLOPs); load/store_matrix_sync log their memory
// accesses as 16-byte accesses per lane, in the pattern of ldmatrix.x4 for the 16 lines of an A/B
// tile (32 chunks of 16 bytes: one request) and, for an accumulator (64 chunks), two requests of
// 8 lines each.
#pragma once

#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
namespace precision {
struct tf32;
}
enum layout_t { mem_row_major, mem_col_major };

}  // namespace wmma
}  // namespace nvcuda

namespace dcnjit_sim::wmma {

namespace cw = nvcuda::wmma;

template <typename T>
inline constexpr bool is_16bit_operand = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// Shape and storage of a fragment type; `supported` is false for what the sim does not emulate.
template <typename Use, int M, int N, int K, typename T>
struct Traits {
  static constexpr bool supported = false;
};
template <typename T>
struct Traits<cw::matrix_a, 16, 16, 16, T> {
  static constexpr bool supported = is_16bit_operand<T>;
  using storage = T;
  static constexpr int rows = 16, cols = 16;
  static constexpr WmmaRole role = wmma_a16;
};
template <typename T>
struct Traits<cw::matrix_b, 16, 16, 16, T> {
  static constexpr bool supported = is_16bit_operand<T>;
  using storage = T;
  static constexpr int rows = 16, cols = 16;
  static constexpr WmmaRole role = wmma_b16;
};
template <>
struct Traits<cw::matrix_a, 16, 16, 8, cw::precision::tf32> {
  static constexpr bool supported = true;
  using storage = float;
  static constexpr int rows = 16, cols = 8;
  static constexpr WmmaRole role = wmma_a_tf32;
};
template <>
struct Traits<cw::matrix_b, 16, 16, 8, cw::precision::tf32> {
  static constexpr bool supported = true;
  using storage = float;
  static constexpr int rows = 8, cols = 16;
  static constexpr WmmaRole role = wmma_b_tf32;
};
template <int K>
struct Traits<cw::accumulator, 16, 16, K, float> {
  static constexpr bool supported = K == 16 || K == 8;
  using storage = float;
  static constexpr int rows = 16, cols = 16;
  static constexpr WmmaRole role = wmma_accumulator;
};

template <typename Use, int M, int N, int K, typename T>
struct CheckedTraits : Traits<Use, M, N, K, T> {
  static_assert(Traits<Use, M, N, K, T>::supported,
                "the sim emulates wmma fragments m16n16k16 (matrix_a/matrix_b of __half or __nv_bfloat16, "
                "accumulator of float) and m16n16k8 (precision::tf32 operands, float accumulator) only");
  static constexpr int elements = Traits<Use, M, N, K, T>::rows * Traits<Use, M, N, K, T>::cols / int(kWarpSize);
};

// tf32 rounding of cvt.rna.tf32.f32: to nearest, ties away from zero, keeping 10 mantissa bits.
DCNJIT_SIM_NOT_COUNTED inline float round_to_tf32(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7f800000u) == 0x7f800000u) return value;  // NaN, infinity
  bits = (bits + 0x1000u) & ~0x1fffu;                     // magnitude rounding: the sign bit is apart
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

template <typename T>
DCNJIT_SIM_NOT_COUNTED inline float widen(T value) {
  if constexpr (std::is_same_v<T, float>)
    return value;
  else if constexpr (std::is_same_v<T, __half>)
    return __half2float(value);
  else
    return __bfloat162float(value);
}

// What each lane hands the collective.
struct MemoryOperand {
  void* fragment;      // the lane's x[]
  const void* memory;  // the tile's first element
  unsigned ldm;
  bool row_major;  // tile rows are the memory lines (else columns are)
  uintptr_t site;
};

struct MmaOperands {
  float* d;
  const void* a;
  const void* b;
  const float* c;
};

struct FillOperand {};

// A full-warp collective running `complete` once every lane has posted `argument`.
DCNJIT_SIM_NOT_COUNTED inline void collective(const char* name, const char* (*complete)(CollectiveCall*),
                                              const void* argument, const std::source_location& where) {
  ThreadContext* self = current_thread;
  const WarpRequest request{WarpOp::custom,    0xffffffffu,  0,        32,       0,   0,
                            where.file_name(), where.line(), complete, argument, name};
  self->hooks->warp_collective(self, &request);
  enter(self);
}

template <typename Operand>
DCNJIT_SIM_NOT_COUNTED inline const Operand& operand(const CollectiveCall* call, unsigned lane) {
  return *static_cast<const Operand*>(call->arguments[lane]);
}

// Checks what every lane must agree on; returns a message or null.
DCNJIT_SIM_NOT_COUNTED inline const char* check_memory_operands(const CollectiveCall* call, unsigned element_bytes) {
  const MemoryOperand& first = operand<MemoryOperand>(call, 0);
  for (unsigned lane = 1; lane < kWarpSize; ++lane) {
    const MemoryOperand& other = operand<MemoryOperand>(call, lane);
    if (other.memory != first.memory || other.ldm != first.ldm || other.row_major != first.row_major)
      return "the lanes of the warp pass different pointers, ldm or layouts (they must be warp-uniform)";
  }
  if (reinterpret_cast<uintptr_t>(first.memory) % 32 != 0) return "the pointer is not 32-byte aligned";
  if (first.ldm * element_bytes % 16 != 0) return "ldm is not a multiple of 16 bytes";
  return nullptr;
}

// Logs the tile's memory as 16-byte chunks, 32 lanes per request: `lines` lines of `line_bytes`.
DCNJIT_SIM_NOT_COUNTED inline void log_tile(CollectiveCall* call, const MemoryOperand& op, unsigned element_bytes,
                                            unsigned lines, unsigned line_bytes, AccessKind kind) {
#if defined(DCNJIT_SIM_COUNTERS)
  if (!call->counting) return;
  const unsigned chunks_per_line = line_bytes / 16;
  const unsigned lines_per_request = kWarpSize / chunks_per_line;
  for (unsigned line = 0; line < lines; ++line)
    for (unsigned chunk = 0; chunk < chunks_per_line; ++chunk) {
      const unsigned request = line / lines_per_request, line_in_request = line % lines_per_request;
      // 16-bit and tf32 operands (2 chunks of a 32-byte line, or 4 of a 64-byte one): ldmatrix.x4's
      // lane order, one 8x8 matrix per 8 lanes. Accumulators: 8 lines x 4 chunks per request.
      const unsigned lane = chunks_per_line == 4 && lines == 16 ? line_in_request * 4 + chunk
                                                                : chunk * lines_per_request + line_in_request;
      const auto* address = static_cast<const char*>(op.memory) + uintptr_t(line) * op.ldm * element_bytes + chunk * 16;
      log_collective_access(call, lane, op.site + request, address, 16, kind);
    }
#else
  (void)call, (void)op, (void)element_bytes, (void)lines, (void)line_bytes, (void)kind;
#endif
}

template <typename Frag>
DCNJIT_SIM_NOT_COUNTED const char* complete_load(CollectiveCall* call) {
  using Storage = typename Frag::storage_element_type;
  constexpr int rows = Frag::tile_rows, cols = Frag::tile_cols, elements = Frag::num_elements;
  if (const char* error = check_memory_operands(call, sizeof(Storage))) return error;
  const MemoryOperand& op = operand<MemoryOperand>(call, 0);
  const Storage* memory = static_cast<const Storage*>(op.memory);
  const uint16_t* map = call->launch->wmma_maps[Frag::role];
  for (unsigned lane = 0; lane < kWarpSize; ++lane) {
    Storage* x = static_cast<Storage*>(operand<MemoryOperand>(call, lane).fragment);
    for (int i = 0; i < elements; ++i) {
      const unsigned position = map[lane * elements + unsigned(i)];
      const unsigned r = position / cols, c = position % cols;
      x[i] = memory[op.row_major ? r * op.ldm + c : c * op.ldm + r];
    }
  }
  const unsigned lines = op.row_major ? rows : cols, line_elements = op.row_major ? cols : rows;
  log_tile(call, op, sizeof(Storage), lines, line_elements * unsigned(sizeof(Storage)), AccessKind::load);
  return nullptr;
}

template <typename Frag>
DCNJIT_SIM_NOT_COUNTED const char* complete_store(CollectiveCall* call) {
  constexpr int rows = Frag::tile_rows, cols = Frag::tile_cols, elements = Frag::num_elements;
  if (const char* error = check_memory_operands(call, sizeof(float))) return error;
  const MemoryOperand& op = operand<MemoryOperand>(call, 0);
  float* memory = static_cast<float*>(const_cast<void*>(op.memory));
  const uint16_t* map = call->launch->wmma_maps[Frag::role];
  for (unsigned lane = 0; lane < kWarpSize; ++lane) {
    const float* x = static_cast<const float*>(operand<MemoryOperand>(call, lane).fragment);
    for (int i = 0; i < elements; ++i) {
      const unsigned position = map[lane * elements + unsigned(i)];
      const unsigned r = position / cols, c = position % cols;
      memory[op.row_major ? r * op.ldm + c : c * op.ldm + r] = x[i];
    }
  }
  const unsigned lines = op.row_major ? rows : cols, line_elements = op.row_major ? cols : rows;
  log_tile(call, op, sizeof(float), lines, line_elements * 4u, AccessKind::store);
  return nullptr;
}

template <typename Frag>
DCNJIT_SIM_NOT_COUNTED const char* complete_fill(CollectiveCall*) {
  return nullptr;  // each lane filled its own x[]; the collective only checks that all lanes came
}

// Gathers the whole tile of a fragment type from the 32 lanes' x[] (row-major, rows x cols).
template <typename Frag, typename Storage>
DCNJIT_SIM_NOT_COUNTED inline void gather(const CollectiveCall* call,
                                          const void* (*of_lane)(const CollectiveCall*, unsigned), float* tile,
                                          bool to_tf32) {
  constexpr int elements = Frag::num_elements;
  const uint16_t* map = call->launch->wmma_maps[Frag::role];
  for (unsigned lane = 0; lane < kWarpSize; ++lane) {
    const Storage* x = static_cast<const Storage*>(of_lane(call, lane));
    for (int i = 0; i < elements; ++i) {
      const float value = widen(x[i]);
      tile[map[lane * elements + unsigned(i)]] = to_tf32 ? round_to_tf32(value) : value;
    }
  }
}

template <typename FragD, typename FragA, typename FragB, typename FragC>
DCNJIT_SIM_NOT_COUNTED const char* complete_mma(CollectiveCall* call) {
  constexpr int M = 16, N = 16, K = FragA::tile_cols;
  constexpr bool tf32 = std::is_same_v<typename FragA::element_type, cw::precision::tf32>;
  float a[M * K], b[K * N], c[M * N];
  gather<FragA, typename FragA::storage_element_type>(
      call, [](const CollectiveCall* cc, unsigned lane) { return operand<MmaOperands>(cc, lane).a; }, a, tf32);
  gather<FragB, typename FragB::storage_element_type>(
      call, [](const CollectiveCall* cc, unsigned lane) { return operand<MmaOperands>(cc, lane).b; }, b, tf32);
  gather<FragC, float>(
      call, [](const CollectiveCall* cc, unsigned lane) -> const void* { return operand<MmaOperands>(cc, lane).c; }, c,
      false);
  // All of C is read before any D is written: d and c are often the same fragment.
  float d[M * N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float sum = c[i * N + j];
      for (int k = 0; k < K; ++k) sum += a[i * K + k] * b[k * N + j];  // exact product, one rounding per add
      d[i * N + j] = sum;
    }
  constexpr int elements = FragD::num_elements;
  const uint16_t* map = call->launch->wmma_maps[FragD::role];
  for (unsigned lane = 0; lane < kWarpSize; ++lane) {
    float* x = operand<MmaOperands>(call, lane).d;
    for (int i = 0; i < elements; ++i) x[i] = d[map[lane * elements + unsigned(i)]];
  }
  call->mma_ops += 1;
  call->flops += 2ull * M * N * K;
  return nullptr;
}

}  // namespace dcnjit_sim::wmma

namespace nvcuda {
namespace wmma {

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
class fragment {
  using traits = dcnjit_sim::wmma::CheckedTraits<Use, M, N, K, T>;

 public:
  using element_type = T;
  using storage_element_type = typename traits::storage;
  enum { num_elements = traits::elements };
  storage_element_type x[num_elements];

  // The sim's own: the tile shape and element order this fragment type uses.
  static constexpr int tile_rows = traits::rows, tile_cols = traits::cols;
  static constexpr dcnjit_sim::WmmaRole role = traits::role;
};

// The value is converted to the storage type, as CUDA does.
template <typename Use, int M, int N, int K, typename T, typename Layout, typename Value>
DCNJIT_SIM_LOGS_CALLER inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const Value& value,
                                                 std::source_location where = std::source_location::current()) {
  using Storage = typename fragment<Use, M, N, K, T, Layout>::storage_element_type;
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = Storage(value);
  static const dcnjit_sim::wmma::FillOperand nothing{};
  dcnjit_sim::wmma::collective("nvcuda::wmma::fill_fragment",
                               &dcnjit_sim::wmma::complete_fill<fragment<Use, M, N, K, T, Layout>>, &nothing, where);
}

#if defined(DCNJIT_SIM_COUNTERS)
#define DCNJIT_SIM_WMMA_SITE DCNJIT_SIM_CALL_SITE()
#else
#define DCNJIT_SIM_WMMA_SITE uintptr_t(0)
#endif

// matrix_a / matrix_b: the layout is the fragment's.
template <typename Use, int M, int N, int K, typename T, typename Layout, typename Pointer>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<!std::is_same_v<Use, accumulator>> load_matrix_sync(
    fragment<Use, M, N, K, T, Layout>& f, const Pointer* pointer, unsigned ldm,
    std::source_location where = std::source_location::current()) {
  using Frag = fragment<Use, M, N, K, T, Layout>;
  static_assert(std::is_same_v<Layout, row_major> || std::is_same_v<Layout, col_major>,
                "matrix_a / matrix_b fragments need a layout (row_major or col_major)");
  static_assert(std::is_same_v<std::remove_cv_t<Pointer>, typename Frag::storage_element_type>,
                "load_matrix_sync: the pointer's element type must be the fragment's storage type");
  const dcnjit_sim::wmma::MemoryOperand op{f.x, pointer, ldm, std::is_same_v<Layout, row_major>, DCNJIT_SIM_WMMA_SITE};
  dcnjit_sim::wmma::collective("nvcuda::wmma::load_matrix_sync", &dcnjit_sim::wmma::complete_load<Frag>, &op, where);
}

// accumulator: the layout is an argument.
template <int M, int N, int K>
DCNJIT_SIM_LOGS_CALLER inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* pointer,
                                                    unsigned ldm, layout_t layout,
                                                    std::source_location where = std::source_location::current()) {
  using Frag = fragment<accumulator, M, N, K, float>;
  const dcnjit_sim::wmma::MemoryOperand op{f.x, pointer, ldm, layout == mem_row_major, DCNJIT_SIM_WMMA_SITE};
  dcnjit_sim::wmma::collective("nvcuda::wmma::load_matrix_sync", &dcnjit_sim::wmma::complete_load<Frag>, &op, where);
}

template <int M, int N, int K>
DCNJIT_SIM_LOGS_CALLER inline void store_matrix_sync(float* pointer, const fragment<accumulator, M, N, K, float>& f,
                                                     unsigned ldm, layout_t layout,
                                                     std::source_location where = std::source_location::current()) {
  using Frag = fragment<accumulator, M, N, K, float>;
  const dcnjit_sim::wmma::MemoryOperand op{const_cast<float*>(f.x), pointer, ldm, layout == mem_row_major,
                                           DCNJIT_SIM_WMMA_SITE};
  dcnjit_sim::wmma::collective("nvcuda::wmma::store_matrix_sync", &dcnjit_sim::wmma::complete_store<Frag>, &op, where);
}

template <int K, typename TA, typename LA, typename TB, typename LB>
DCNJIT_SIM_LOGS_CALLER inline void mma_sync(fragment<accumulator, 16, 16, K, float>& d,
                                            const fragment<matrix_a, 16, 16, K, TA, LA>& a,
                                            const fragment<matrix_b, 16, 16, K, TB, LB>& b,
                                            const fragment<accumulator, 16, 16, K, float>& c,
                                            std::source_location where = std::source_location::current()) {
  static_assert(std::is_same_v<TA, TB>, "mma_sync: matrix_a and matrix_b must have the same element type");
  using FragD = fragment<accumulator, 16, 16, K, float>;
  const dcnjit_sim::wmma::MmaOperands op{d.x, a.x, b.x, c.x};
  dcnjit_sim::wmma::collective("nvcuda::wmma::mma_sync",
                               &dcnjit_sim::wmma::complete_mma<FragD, fragment<matrix_a, 16, 16, K, TA, LA>,
                                                               fragment<matrix_b, 16, 16, K, TB, LB>, FragD>,
                               &op, where);
}

DCNJIT_SIM_NOT_COUNTED inline float __float_to_tf32(float in) { return dcnjit_sim::wmma::round_to_tf32(in); }

}  // namespace wmma
}  // namespace nvcuda
