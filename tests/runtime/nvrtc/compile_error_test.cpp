// Compile errors carry NVRTC's log and the numbered source lines around each error.
#include <gtest/gtest.h>

#include "dcnjit/error.h"
#include "generator/generator.h"
#include "runtime/nvrtc/compile_error.h"
#include "runtime/nvrtc/nvrtc_compiler.h"

namespace dcnjit::nvrtc {
namespace {

TEST(CompileError, ReportsTheLogAndTheNumberedFailingLine) {
  gen::KernelSource kernel;
  kernel.name = "dcn_broken_kernel";
  kernel.source =
      "#include \"templates/shared_params.cuh\"\n"                                           // 1
      "\n"                                                                                      // 2
      "extern \"C\" __global__ void dcn_broken_kernel(const dcn::ElementwiseParams params) {\n"  // 3
      "  float* out = static_cast<float*>(params.dst);\n"                                       // 4
      "  out[0] = undeclared_value;\n"                                             // 5
      "}\n";                                                                       // 6
  try {
    compile(kernel, 80);
    FAIL() << "the broken kernel compiled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::CompileError);
    const std::string message = e.what();
    EXPECT_NE(message.find("dcn_broken_kernel for sm_80 failed"), std::string::npos) << message;
    EXPECT_NE(message.find("dcn_broken_kernel.cu(5): error"), std::string::npos) << message;  // NVRTC's log
    EXPECT_NE(message.find(">    5 |   out[0] = undeclared_value;"), std::string::npos) << message;
    EXPECT_NE(message.find("     4 |   float* out"), std::string::npos) << message;  // context line
  }
}

TEST(CompileError, ExcerptFromAnEmbeddedTemplate) {
  // An error located in a template is shown from the embedded copy of that template.
  const std::string log = "templates/shared_params.cuh(12): error: something\n";
  const std::string message = describe_compile_error("k", "sm_90", "k.cu", "// source\n", log);
  EXPECT_NE(message.find("templates/shared_params.cuh line 12:"), std::string::npos) << message;
  EXPECT_NE(message.find(">   12 |"), std::string::npos) << message;
}

TEST(CompileError, NumberedExcerptClipsAtTheEdges) {
  EXPECT_EQ(numbered_excerpt("a\nb\nc\n", 1, 1), ">    1 | a\n     2 | b\n");
  EXPECT_EQ(numbered_excerpt("a\nb\nc", 3, 1), "     2 | b\n>    3 | c\n");
}

}  // namespace
}  // namespace dcnjit::nvrtc
