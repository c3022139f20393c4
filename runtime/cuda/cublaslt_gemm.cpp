// cuBLASLt GEMMs for row-major GemmDescs (see cublaslt_gemm.h for the layout and bias reasoning).
#include "runtime/cuda/cublaslt_gemm.h"

#include <fmt/format.h>

#include <algorithm>

#include "dcnjit/error.h"

namespace dcnjit::cuda {

namespace {

void check_lt(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(ErrorCode::LaunchError, fmt::format("{} failed: {} ({})", call, cublasLtGetStatusName(status),
                                                  cublasLtGetStatusString(status)));
}
#define DCNJIT_LT(call) check_lt(call, #call)

cudaDataType_t lt_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return CUDA_R_32F;
    case DType::f16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f64: break;
  }
  throw Error(ErrorCode::Unsupported, "gemm: the cuda backend's GEMMs are f32, f16 and bf16");
}

// The largest power of two (up to 256, cuBLASLt's strictest requirement) dividing the address of every
// batch entry of an operand: the base pointer and, when batched, the byte stride between entries.
unsigned operand_alignment(const void* pointer, int64_t batch_stride, int batch, DType dtype) {
  uint64_t bits = reinterpret_cast<std::uintptr_t>(pointer);
  if (batch > 1) bits |= uint64_t(batch_stride) * dtype_size(dtype);
  unsigned alignment = 256;
  while (alignment > 1 && bits % alignment != 0) alignment /= 2;
  return alignment;
}

// RAII owners for the cuBLASLt descriptors a ShapePlan keeps.
struct LayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const { cublasLtMatrixLayoutDestroy(p); }
};
struct MatmulDescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const { cublasLtMatmulDescDestroy(p); }
};
struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using LayoutPtr = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LayoutDeleter>;

LayoutPtr make_layout(const LtMatrix& matrix, DType dtype, int batch) {
  cublasLtMatrixLayout_t layout = nullptr;
  DCNJIT_LT(cublasLtMatrixLayoutCreate(&layout, lt_type(dtype), matrix.rows, matrix.cols, matrix.ld));
  LayoutPtr owned(layout);
  if (batch > 1) {
    const int32_t count = batch;
    const int64_t stride = matrix.batch_stride;
    DCNJIT_LT(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
    DCNJIT_LT(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                               sizeof(stride)));
  }
  return owned;
}

}  // namespace

void validate_gemm_desc(const detail::GemmDesc& desc) {
  auto fail = [](const std::string& what) { throw Error(ErrorCode::Internal, "gemm: " + what); };
  if (desc.m <= 0 || desc.n <= 0 || desc.k <= 0)
    fail(fmt::format("m={} n={} k={} must all be positive", desc.m, desc.n, desc.k));
  if (desc.batch < 1) fail(fmt::format("batch={} must be at least 1", desc.batch));
  if (!desc.a || !desc.b || !desc.c) fail("a, b and c must all be set");
  // Row-major: a row of the stored matrix must fit in the leading dimension.
  const int64_t a_row = desc.trans_a ? desc.m : desc.k;
  const int64_t b_row = desc.trans_b ? desc.k : desc.n;
  if (desc.lda < a_row) fail(fmt::format("lda={} is less than the row length {} of A", desc.lda, a_row));
  if (desc.ldb < b_row) fail(fmt::format("ldb={} is less than the row length {} of B", desc.ldb, b_row));
  if (desc.ldc < desc.n) fail(fmt::format("ldc={} is less than n={}", desc.ldc, desc.n));
  if (desc.stride_a < 0 || desc.stride_b < 0 || desc.stride_c < 0)
    fail(fmt::format("negative batch stride (a={} b={} c={})", desc.stride_a, desc.stride_b, desc.stride_c));
  if (desc.algo < 0) fail(fmt::format("algo={} must not be negative", desc.algo));
}

LtGemmMapping map_row_major_gemm(const detail::GemmDesc& desc) {
  LtGemmMapping lt;
  // Column-major C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
  lt.m = uint64_t(desc.n);
  lt.n = uint64_t(desc.m);
  lt.k = uint64_t(desc.k);
  lt.batch = desc.batch;

  // Our B, stored row-major as k x n (or n x k when trans_b), read column-major: n x k (or k x n).
  lt.trans_a = desc.trans_b;
  lt.a = {desc.b, desc.trans_b ? uint64_t(desc.k) : uint64_t(desc.n), desc.trans_b ? uint64_t(desc.n) : uint64_t(desc.k),
          desc.ldb, desc.stride_b};
  // Our A, stored row-major as m x k (or k x m when trans_a), read column-major: k x m (or m x k).
  lt.trans_b = desc.trans_a;
  lt.b = {desc.a, desc.trans_a ? uint64_t(desc.m) : uint64_t(desc.k), desc.trans_a ? uint64_t(desc.k) : uint64_t(desc.m),
          desc.lda, desc.stride_a};
  // Our C, row-major m x n, read column-major: n x m.
  lt.d = {desc.c, uint64_t(desc.n), uint64_t(desc.m), desc.ldc, desc.stride_c};
  return lt;
}

detail::GemmDesc bias_broadcast_gemm(const detail::GemmDesc& desc, const void* ones) {
  detail::GemmDesc rank1;
  rank1.m = desc.m;
  rank1.n = desc.n;
  rank1.k = 1;
  // C = bias * ones^T (bias along rows), or ones * bias^T (bias_per_column); the same for every batch entry.
  rank1.a = desc.bias_per_column ? ones : desc.bias;  // m x 1
  rank1.lda = 1;
  rank1.stride_a = 0;
  rank1.b = desc.bias_per_column ? desc.bias : ones;  // 1 x n
  rank1.ldb = desc.n;
  rank1.stride_b = 0;
  rank1.c = desc.c;
  rank1.ldc = desc.ldc;
  rank1.stride_c = desc.stride_c;
  rank1.batch = desc.batch;
  rank1.alpha = 1.0f;
  rank1.beta = desc.beta;
  rank1.dtype = desc.dtype;
  rank1.c_dtype = desc.c_dtype;
  rank1.allow_tf32 = desc.allow_tf32;
  rank1.role = desc.role;
  rank1.algo = 0;
  return rank1;
}

std::string cublaslt_version() {
  const std::size_t v = cublasLtGetVersion();  // major * 10000 + minor * 100 + patch
  return fmt::format("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100);
}

struct CublasLtGemm::ShapePlan {
  std::unique_ptr<cublasLtMatmulDescOpaque_t, MatmulDescDeleter> matmul;
  LayoutPtr a, b, d;
  std::vector<cublasLtMatmulHeuristicResult_t> candidates;
};

CublasLtGemm::CublasLtGemm() {
  // Needs the driver (cuBLASLt loads it itself); the owning device has checked that it is there.
  DCNJIT_LT(cublasLtCreate(&handle_));
}

CublasLtGemm::~CublasLtGemm() {
  plans_.clear();  // descriptors before the handle
  if (handle_) cublasLtDestroy(handle_);
}

CublasLtGemm::ShapePlan& CublasLtGemm::plan_for(const detail::GemmDesc& desc, std::size_t workspace_bytes) {
  validate_gemm_desc(desc);
  const ShapeKey key{desc.trans_a,   desc.trans_b,   desc.m,         desc.n,
                     desc.k,         desc.lda,       desc.ldb,       desc.ldc,
                     desc.stride_a,  desc.stride_b,  desc.stride_c,  desc.batch,
                     desc.dtype,     desc.output_dtype(), desc.allow_tf32 && desc.dtype == DType::f32,
                     operand_alignment(desc.a, desc.stride_a, desc.batch, desc.dtype),
                     operand_alignment(desc.b, desc.stride_b, desc.batch, desc.dtype),
                     operand_alignment(desc.c, desc.stride_c, desc.batch, desc.output_dtype()),
                     workspace_bytes};
  std::lock_guard lock(mutex_);
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;

  const LtGemmMapping lt = map_row_major_gemm(desc);
  auto plan = std::make_unique<ShapePlan>();

  // f32 accumulation for every dtype; CUBLAS_COMPUTE_32F (not _FAST_TF32) keeps f32 GEMMs exact to
  // f32 rounding, which the 1e-5 f32 tolerance against the CPU backend relies on. TF32 only when the
  // engine allows it (EngineOptions::allow_tf32, like PyTorch's allow_tf32), for f32 inputs.
  const cublasComputeType_t compute = key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  cublasLtMatmulDesc_t matmul = nullptr;
  DCNJIT_LT(cublasLtMatmulDescCreate(&matmul, compute, CUDA_R_32F));
  plan->matmul.reset(matmul);
  const cublasOperation_t op_a = lt.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = lt.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  DCNJIT_LT(cublasLtMatmulDescSetAttribute(matmul, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  DCNJIT_LT(cublasLtMatmulDescSetAttribute(matmul, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));

  plan->a = make_layout(lt.a, desc.dtype, lt.batch);
  plan->b = make_layout(lt.b, desc.dtype, lt.batch);
  plan->d = make_layout(lt.d, desc.output_dtype(), lt.batch);  // C and D: f32 for a 16-bit GEMM into f32

  cublasLtMatmulPreference_t preference_raw = nullptr;
  DCNJIT_LT(cublasLtMatmulPreferenceCreate(&preference_raw));
  std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PreferenceDeleter> preference(preference_raw);
  const uint64_t max_workspace = workspace_bytes;
  DCNJIT_LT(cublasLtMatmulPreferenceSetAttribute(preference_raw, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &max_workspace, sizeof(max_workspace)));
  // cuBLASLt's "A" is our B, its "B" our A; C and D share our C.
  const uint32_t align_a = key.align_b, align_b = key.align_a, align_cd = key.align_c;
  DCNJIT_LT(cublasLtMatmulPreferenceSetAttribute(preference_raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a,
                                                 sizeof(align_a)));
  DCNJIT_LT(cublasLtMatmulPreferenceSetAttribute(preference_raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b,
                                                 sizeof(align_b)));
  DCNJIT_LT(cublasLtMatmulPreferenceSetAttribute(preference_raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_cd,
                                                 sizeof(align_cd)));
  DCNJIT_LT(cublasLtMatmulPreferenceSetAttribute(preference_raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_cd,
                                                 sizeof(align_cd)));

  plan->candidates.resize(kMaxCandidates);
  int returned = 0;
  const cublasStatus_t heuristic = cublasLtMatmulAlgoGetHeuristic(
      handle_, matmul, plan->a.get(), plan->b.get(), plan->d.get(), plan->d.get(), preference_raw, kMaxCandidates,
      plan->candidates.data(), &returned);
  // NOT_SUPPORTED is how the heuristic says "nothing fits" (as is an empty list): the user's problem is
  // fine, this GEMM shape has no cuBLASLt kernel under these constraints.
  if (heuristic == CUBLAS_STATUS_NOT_SUPPORTED || (heuristic == CUBLAS_STATUS_SUCCESS && returned == 0))
    throw Error(ErrorCode::Unsupported,
                fmt::format("{}: cuBLASLt has no algorithm for this GEMM (m={} n={} k={} batch={} {} -> {}, "
                            "trans_a={} trans_b={}, lda={} ldb={} ldc={}, alignments {}/{}/{} bytes)",
                            desc.role, desc.m, desc.n, desc.k, desc.batch, to_string(desc.dtype),
                            to_string(desc.output_dtype()), desc.trans_a, desc.trans_b, desc.lda, desc.ldb, desc.ldc,
                            key.align_a, key.align_b, key.align_c));
  check_lt(heuristic, "cublasLtMatmulAlgoGetHeuristic");
  plan->candidates.resize(std::size_t(returned));
  return *plans_.emplace(key, std::move(plan)).first->second;
}

int CublasLtGemm::candidate_count(const detail::GemmDesc& desc, std::size_t workspace_bytes) {
  return int(plan_for(desc, workspace_bytes).candidates.size());
}

void CublasLtGemm::run(const detail::GemmDesc& desc, CUstream stream, void* workspace, std::size_t workspace_bytes) {
  if (desc.bias) throw Error(ErrorCode::Internal, "gemm: bias must be folded in with bias_broadcast_gemm first");
  ShapePlan& plan = plan_for(desc, workspace ? workspace_bytes : 0);
  // Each GEMM role has its own knob (gemm_fwd, gemm_dcol, gemm_wgrad) indexing that role's own list. An
  // index past it is an error naming the knob: the tuner records such a config as failed, and a
  // hand-written config says what to change, rather than silently running another algorithm.
  if (desc.algo < 0 || std::size_t(desc.algo) >= plan.candidates.size())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{}={}: cuBLASLt offers {} algorithm(s) for this GEMM (m={} n={} k={} batch={}); use 0 "
                            "to {}",
                            desc.role, desc.algo, plan.candidates.size(), desc.m, desc.n, desc.k, desc.batch,
                            plan.candidates.size() - 1));
  const cublasLtMatmulHeuristicResult_t& chosen = plan.candidates[std::size_t(desc.algo)];
  const LtGemmMapping lt = map_row_major_gemm(desc);
  DCNJIT_LT(cublasLtMatmul(handle_, plan.matmul.get(), &desc.alpha, lt.a.data, plan.a.get(), lt.b.data,
                           plan.b.get(), &desc.beta, lt.d.data, plan.d.get(), const_cast<void*>(lt.d.data),
                           plan.d.get(), &chosen.algo, workspace, workspace ? workspace_bytes : 0,
                           reinterpret_cast<cudaStream_t>(stream)));
}

}  // namespace dcnjit::cuda
