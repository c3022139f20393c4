#include "tuner/cache_path.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "dcnjit/error.h"

namespace dcnjit::tuner {

namespace {

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string home_directory() {
  std::string home = environment_value("HOME");
  if (!home.empty()) return home;
  // Services started without HOME still have a passwd entry.
  if (const passwd* entry = getpwuid(getuid()); entry && entry->pw_dir) return entry->pw_dir;
  return {};
}

}  // namespace

std::string resolve_cache_path(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (std::string path = environment_value("DCNJIT_CACHE"); !path.empty()) return path;
  if (std::string xdg = environment_value("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/dcnjit/cache.sqlite";
  const std::string home = home_directory();
  if (home.empty())
    throw Error(ErrorCode::CacheError,
                "cache path: neither DCNJIT_CACHE, XDG_CACHE_HOME nor HOME is set; pass a cache path explicitly");
  return home + "/.cache/dcnjit/cache.sqlite";
}

}  // namespace dcnjit::tuner
