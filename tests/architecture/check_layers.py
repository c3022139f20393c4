#!/usr/bin/env python3
"""The layer check (docs/architecture.md): data flows one way,

    core -> generator + templates -> algorithms -> runtime -> tuner -> engine -> tools

and no source file includes, and no library links, anything of a later layer. Run by ctest on the source
tree; `--self-test` runs it on small made-up trees first, so the check itself is known to fail on a
backward include and a backward link.

Usage: check_layers.py ROOT            exit 1 listing every backward edge
       check_layers.py --self-test
"""
import os
import re
import sys
import tempfile

# Layers in data-flow order; a path belongs to the layer of its longest matching prefix.
LAYERS = ["core", "generator", "algorithms", "runtime", "tuner", "engine", "tools"]
PREFIXES = {
    "include/dcnjit/engine.h": "engine",
    "include/dcnjit/dcnjit.h": "engine",
    "include/dcnjit/": "core",
    "core/": "core",
    "generator/": "generator",
    "templates/": "generator",
    "algorithms/": "algorithms",
    "runtime/": "runtime",
    "tuner/": "tuner",
    "engine/": "engine",
    "tools/": "tools",
    "bench/": "tools",
    "python/": "tools",
}
SOURCE_DIRS = ["include", "core", "generator", "templates", "algorithms", "runtime", "tuner", "engine", "tools",
               "bench", "python"]
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".cuh", ".cu")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def layer_of(path):
    best = None
    for prefix, layer in PREFIXES.items():
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best[1] if best else None


def rank(layer):
    return LAYERS.index(layer)


def include_edges(root):
    """(file, line, included path) for every quoted include of every source file."""
    for top in SOURCE_DIRS:
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(directory, name), root)
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for match in INCLUDE.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    target = match.group(1)
                    # "dcnjit/x.h" is include/dcnjit/x.h; other quoted paths are relative to the root.
                    if target.startswith("dcnjit/"):
                        target = "include/" + target
                    yield path, line, target


def libraries(root):
    """{target: (layer, CMakeLists path)} for every add_library outside tests/."""
    found = {}
    for directory, _, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        if rel_dir.split(os.sep)[0] in ("tests", "build") or rel_dir.startswith("build"):
            continue
        if "CMakeLists.txt" not in files:
            continue
        cmake = os.path.join(rel_dir, "CMakeLists.txt") if rel_dir != "." else "CMakeLists.txt"
        with open(os.path.join(root, cmake), encoding="utf-8") as f:
            text = f.read()
        for match in re.finditer(r"add_library\(\s*([A-Za-z0-9_]+)", text):
            layer = layer_of(rel_dir.replace(os.sep, "/") + "/")
            if layer:
                found[match.group(1)] = (layer, cmake)
    return found


def link_edges(root, libs):
    """(CMakeLists, target, dependency) for every target_link_libraries of a library outside tests/."""
    for target, (_, cmake) in sorted(libs.items()):
        with open(os.path.join(root, cmake), encoding="utf-8") as f:
            text = f.read()
        for match in re.finditer(r"target_link_libraries\(\s*" + re.escape(target) + r"\b([^)]*)\)", text):
            for dependency in match.group(1).split():
                if dependency in libs:
                    yield cmake, target, dependency


def backward_edges(root):
    problems = []
    for path, line, target in include_edges(root):
        source_layer, target_layer = layer_of(path), layer_of(target)
        if source_layer and target_layer and rank(target_layer) > rank(source_layer):
            problems.append(f"{path}:{line}: includes {target} ({source_layer} must not depend on {target_layer})")
    libs = libraries(root)
    for cmake, target, dependency in link_edges(root, libs):
        source_layer, target_layer = libs[target][0], libs[dependency][0]
        if rank(target_layer) > rank(source_layer):
            problems.append(f"{cmake}: {target} ({source_layer}) links {dependency} ({target_layer})")
    return problems


def self_test():
    def tree(files):
        root = tempfile.mkdtemp(prefix="dcnjit-layers-")
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as f:
                f.write(text)
        return root

    clean = tree({
        "core/a.cpp": '#include "dcnjit/problem.h"\n',
        "runtime/b.cpp": '#include "core/a.h"\n#include "algorithms/x.h"\n',
        "engine/e.cpp": '#include "tuner/t.h"\n#include "runtime/b.h"\n',
        "runtime/CMakeLists.txt": "add_library(r STATIC b.cpp)\ntarget_link_libraries(r PUBLIC c)\n",
        "core/CMakeLists.txt": "add_library(c STATIC a.cpp)\n",
    })
    backward_include = tree({
        "generator/g.cpp": '#include "runtime/backend.h"\n',
        "runtime/r.cpp": '#include "dcnjit/engine.h"\n',
    })
    backward_link = tree({
        "core/CMakeLists.txt": "add_library(c STATIC a.cpp)\ntarget_link_libraries(c PUBLIC t)\n",
        "tuner/CMakeLists.txt": "add_library(t STATIC t.cpp)\n",
    })
    failures = []
    if backward_edges(clean):
        failures.append(f"a clean tree was flagged: {backward_edges(clean)}")
    found = backward_edges(backward_include)
    if len(found) != 2 or "generator must not depend on runtime" not in found[0] + found[1]:
        failures.append(f"backward includes were not both found: {found}")
    found = backward_edges(backward_link)
    if len(found) != 1 or "c (core) links t (tuner)" not in found[0]:
        failures.append(f"the backward link was not found: {found}")
    for failure in failures:
        print("self-test:", failure)
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = backward_edges(argv[1])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} dependency edge(s) run against the layers (docs/architecture.md)")
        return 1
    print("layers: every include and link runs in data-flow order")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
