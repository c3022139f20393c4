// KnobTable: parsing, defaults, validation with messages that name the knob, the tuner's enumeration
// (defaults first, nearest first, only the knobs of the direction) and the profiler's neighbours.
#include "core/knob_table.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dcnjit/error.h"

namespace dcnjit {
namespace {

// A small table: an integer knob with a problem-dependent range, a word knob that only backward sees,
// and a whole-config check that forbids one combination.
KnobTable test_table() {
  return KnobTable(
      "toy",
      {
          {"step", "images per chunk", Affects::both, {},
           [](const Problem& p) {
             std::vector<int64_t> v;
             for (int64_t s = 1; s <= p.N; s *= 2) v.push_back(s);
             return v;
           },
           [](const Problem& p) -> int64_t { return p.N; },
           [](const Problem& p, int64_t v) -> std::string { return v >= 1 && v <= p.N ? "" : "expected 1 to N"; }},
          {"mode", "how backward scatters", Affects::backward, {"fast", "exact"}, {},
           [](const Problem&) -> int64_t { return 0; }, {}},
      },
      [](const Problem&, const KnobTable& t, const Config& c) -> std::string {
        return t.value(c, "step") == 1 && t.value(c, "mode") == 1 ? "exact needs step > 1" : "";
      });
}

const Problem kProblem = Problem::parse("N4 C8 H8 W8 Co8 k3x3 p1x1");

std::string resolve_error(const char* text) {
  try {
    test_table().resolve(kProblem, Config::parse(text));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "'" << text << "' resolved";
  return "";
}

TEST(KnobTable, DefaultsAreCanonicalAndComplete) {
  EXPECT_EQ(test_table().defaults(kProblem).to_string(), "toy step=4 mode=fast");
}

TEST(KnobTable, ResolveFillsLeftOutKnobsAndOrdersThem) {
  const KnobTable t = test_table();
  EXPECT_EQ(t.resolve(kProblem, Config::parse("mode=exact")).to_string(), "toy step=4 mode=exact");
  EXPECT_EQ(t.resolve(kProblem, Config::parse("toy mode=exact step=2")).to_string(), "toy step=2 mode=exact");
  EXPECT_EQ(t.value(t.resolve(kProblem, Config::parse("mode=exact")), "mode"), 1);
}

// A default that follows an earlier knob (KnobDef::default_after): "mode" defaults to exact where step
// allows it, so a partial config never resolves to the combination the whole-config check forbids.
TEST(KnobTable, ADefaultAfterAnEarlierKnobFollowsItsGivenValue) {
  KnobTable base = test_table();
  std::vector<KnobDef> knobs = base.knobs();
  knobs[1].default_value = [](const Problem&) -> int64_t { return 1; };  // exact at the default step (4)
  knobs[1].default_after = [](const Problem&, const Config& earlier) -> int64_t {
    return *earlier.find("step") == "1" ? 0 : 1;
  };
  const KnobTable t("toy", std::move(knobs), [](const Problem&, const KnobTable& table, const Config& c) {
    return table.value(c, "step") == 1 && table.value(c, "mode") == 1 ? std::string("exact needs step > 1") : "";
  });
  EXPECT_EQ(t.defaults(kProblem).to_string(), "toy step=4 mode=exact");
  EXPECT_EQ(t.resolve(kProblem, Config::parse("step=1")).to_string(), "toy step=1 mode=fast");
  EXPECT_EQ(t.resolve(kProblem, Config::parse("step=2")).to_string(), "toy step=2 mode=exact");
  // A given value still wins over the default, and the check still applies to it.
  EXPECT_THROW(t.resolve(kProblem, Config::parse("step=1 mode=exact")), Error);
}

TEST(KnobTable, ResolveNamesTheKnobAndWhatIsAllowed) {
  EXPECT_NE(resolve_error("colour=blue").find("unknown knob 'colour' for algorithm toy (its knobs: step, mode)"),
            std::string::npos);
  EXPECT_NE(resolve_error("step=x").find("step=x is invalid for algorithm toy (expected an integer)"),
            std::string::npos);
  EXPECT_NE(resolve_error("step=9").find("step=9 is invalid for algorithm toy (expected 1 to N; allowed: e.g. 1, 2, 4)"),
            std::string::npos);
  EXPECT_NE(resolve_error("mode=slow").find("expected one of fast, exact"), std::string::npos);
  EXPECT_NE(resolve_error("step=1 mode=exact").find("exact needs step > 1"), std::string::npos);
  EXPECT_NE(resolve_error("other step=1").find("algorithm 'other' does not match"), std::string::npos);
}

TEST(KnobTable, EnumerationVariesOnlyTheDirectionsKnobsDefaultsFirst) {
  const KnobTable t = test_table();
  const std::vector<Config> forward = t.enumerate(kProblem, Direction::forward);
  ASSERT_EQ(forward.size(), 3u);  // step 4 (default), 1, 2; mode stays at its default
  EXPECT_EQ(forward.front(), t.defaults(kProblem));
  for (const Config& c : forward) EXPECT_EQ(*c.find("mode"), "fast");

  const std::vector<Config> backward = t.enumerate(kProblem, Direction::backward);
  EXPECT_EQ(backward.front(), t.defaults(kProblem));
  // 3 steps x 2 modes minus (step=1, exact), which the whole-config check rejects.
  EXPECT_EQ(backward.size(), 5u);
  EXPECT_EQ(std::count(backward.begin(), backward.end(), Config::parse("toy step=1 mode=exact")), 0);
  // Nearest first: every one-knob change comes before the two-knob ones.
  for (std::size_t i = 1; i < backward.size(); ++i)
    EXPECT_LE(t.distance(backward[i - 1], t.defaults(kProblem)), t.distance(backward[i], t.defaults(kProblem)));
}

TEST(KnobTable, NeighboursChangeOneKnobAndSayWhyOneCannotRun) {
  const KnobTable t = test_table();
  const Config chosen = t.resolve(kProblem, Config::parse("step=1"));
  std::vector<std::string> labels;
  std::string exact_reason;
  for (const KnobChange& c : t.neighbours(kProblem, chosen, Direction::backward)) {
    labels.push_back(c.label);
    EXPECT_EQ(t.distance(c.config, chosen), 1);
    if (c.label == "mode=exact") exact_reason = c.why_not;
  }
  EXPECT_EQ(labels, (std::vector<std::string>{"step=4", "step=2", "mode=exact"}));
  EXPECT_EQ(exact_reason, "exact needs step > 1");
  for (const KnobChange& c : t.neighbours(kProblem, chosen, Direction::forward)) EXPECT_NE(c.label, "mode=exact");
}

}  // namespace
}  // namespace dcnjit
