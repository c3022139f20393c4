// KernelSpec: one generated kernel, described by what it is specialized on. Algorithms build specs
// (algorithms/<name>/), the generator renders them (generator.h) and the runtime compiles and launches
// the rendered source. A spec says which template function the kernel instantiates, the compile-time
// Spec it instantiates it with, and the one by-value parameter struct it takes.
//
// Equal specs give byte-identical source and the same name; the name spells the specialization
// (e.g. "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_n1") and is the handle of the binary
// cache, the sim's shared objects and test instances.
#pragma once

#include <string>
#include <vector>

namespace dcnjit::gen {

// One template argument of the kernel's Spec.
struct SpecArgument {
  std::string comment;  // names the template parameter(s) in the generated alias: "kh, kw"
  std::string value;    // the C++ argument text: "3, 3"
  std::string token;    // what it adds to the kernel name ("k3x3"); empty: nothing

  bool operator==(const SpecArgument&) const = default;
};

struct KernelSpec {
  std::string family;                  // "im2col", "col2im_coord", "bias_grad", ...: the name's first part
  std::string summary;                 // one line for the comment header: what the kernel computes
  std::string header;                  // the template to include, e.g. "algorithms/im2col/deform_im2col.cuh"
  std::string function;                // the device function templated on Spec: "dcn::deform_im2col"
  std::string spec_template;           // the Spec type: "dcn::SamplingSpec"
  std::vector<SpecArgument> arguments;  // its template arguments, in order
  std::string params_type;             // the by-value parameter struct: "dcn::SamplingParams"
  std::vector<std::string> details;    // comment-header lines below the summary ("taps 3x3, stride 1x1")
  int block_threads = 0;
  int items = 1;                       // work items per thread of a grid-stride launch
  int min_blocks_per_sm = 1;           // the second __launch_bounds__ argument
  int dynamic_shared_bytes = 0;        // passed to every launch (and set as the kernel's attribute on cuda)

  // "dcn_" + family + the arguments' tokens, '_'-separated.
  std::string name() const;

  bool operator==(const KernelSpec&) const = default;
};

}  // namespace dcnjit::gen
