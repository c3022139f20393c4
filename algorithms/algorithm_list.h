// Every algorithm, one line each: DCNJIT_ALGORITHM(name) registers make_<name>_algorithm (declared in
// algorithms/<name>/<name>_algorithm.h). The order is the order of preference: the heuristic (no tuning)
// runs the first algorithm that can implement a problem. docs/architecture.md: adding an algorithm.
DCNJIT_ALGORITHM(im2col)
DCNJIT_ALGORITHM(fused)
