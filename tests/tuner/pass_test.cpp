// The pass names `dcnjit tune --pass` and the database accept, and the gradients each pass times.
#include "tuner/pass.h"

#include <gtest/gtest.h>

#include "dcnjit/error.h"

namespace dcnjit::tuner {
namespace {

TEST(PassSelection, AllIsWhatAPlanRunsAndBackwardIsTheFullBackward) {
  EXPECT_EQ(parse_pass_selection("all"), (std::vector<Pass>{Pass::forward, Pass::backward}));
  EXPECT_EQ(parse_pass_selection("backward"), std::vector<Pass>{Pass::backward});
  EXPECT_EQ(parse_pass_selection("forward"), std::vector<Pass>{Pass::forward});
  // The sub-passes stay selectable one at a time, for investigation.
  EXPECT_EQ(parse_pass_selection("backward_data"), std::vector<Pass>{Pass::backward_data});
  EXPECT_EQ(parse_pass_selection("backward_offset_mask"), std::vector<Pass>{Pass::backward_offset_mask});
  EXPECT_EQ(parse_pass_selection("backward_weight"), std::vector<Pass>{Pass::backward_weight});
}

TEST(PassSelection, UnknownNameIsAnErrorListingTheKnownOnes) {
  try {
    parse_pass_selection("sideways");
    FAIL() << "accepted 'sideways'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    const std::string message = e.what();
    EXPECT_NE(message.find("'sideways'"), std::string::npos) << message;
    for (const char* name : {"all", "forward", "backward", "backward_data", "backward_offset_mask", "backward_weight"})
      EXPECT_NE(message.find(name), std::string::npos) << name << " missing from: " << message;
  }
  EXPECT_THROW(parse_pass("all"), Error) << "'all' is a selection, not a database key";
}

TEST(PassNames, RoundTripThroughTheDatabaseText) {
  for (Pass pass : all_passes()) EXPECT_EQ(parse_pass(to_string(pass)), pass);
  EXPECT_STREQ(to_string(Pass::backward), "backward");  // the database's key text: never rename
}

TEST(PassOutputsOf, FullBackwardHasEveryGradientOfTheProblem) {
  const Problem v2 = Problem::parse("N1 C4 H8 W8 Co4 k3x3 mask bias");
  EXPECT_EQ(output_names(outputs_of(Pass::backward, v2)),
            (std::vector<std::string>{"grad_x", "grad_offset", "grad_mask", "grad_weight", "grad_bias"}));
  const Problem v1 = Problem::parse("N1 C4 H8 W8 Co4 k3x3 nomask nobias");
  EXPECT_EQ(output_names(outputs_of(Pass::backward, v1)),
            (std::vector<std::string>{"grad_x", "grad_offset", "grad_weight"}));
  EXPECT_EQ(output_names(outputs_of(Pass::forward, v2)), std::vector<std::string>{"y"});
  EXPECT_EQ(output_names(outputs_of(Pass::backward_data, v2)), std::vector<std::string>{"grad_x"});
  EXPECT_EQ(output_names(outputs_of(Pass::backward_offset_mask, v2)),
            (std::vector<std::string>{"grad_offset", "grad_mask"}));
  EXPECT_EQ(output_names(outputs_of(Pass::backward_weight, v1)), std::vector<std::string>{"grad_weight"});
}

}  // namespace
}  // namespace dcnjit::tuner
