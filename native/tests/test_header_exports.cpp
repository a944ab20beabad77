// Every function native/include/starprompt.h declares is exported by the library that was
// built, whichever way it was built. It matters most for the CPU-only build, where
// cuda/no_cuda.cpp must stand in for every sp_cuda_* entry point: a declaration added to the
// header without a stub would otherwise surface only when the Java binding fails to link. (A
// stub whose parameters differ from the header's does not compile: both are extern "C".)
#include <dlfcn.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "starprompt.h"

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The names of the functions the header declares: identifiers sp_... followed by '(' outside
// comments and preprocessor lines.
std::set<std::string> declared_functions(std::string header) {
  header = std::regex_replace(header, std::regex(R"(/\*[\s\S]*?\*/)"), " ");
  header = std::regex_replace(header, std::regex(R"(//[^\n]*)"), " ");
  header = std::regex_replace(header, std::regex(R"((^|\n)[ \t]*#[^\n]*)"), "\n");
  std::set<std::string> names;
  const std::regex decl(R"(\b(sp_[a-z0-9_]+)\s*\()");
  for (std::sregex_iterator it(header.begin(), header.end(), decl), end; it != end; ++it) {
    names.insert((*it)[1].str());
  }
  return names;
}

}  // namespace

int main() {
  const std::string header = read_file(SP_HEADER_PATH);
  if (header.empty()) {
    std::fprintf(stderr, "cannot read %s\n", SP_HEADER_PATH);
    return 1;
  }
  const std::set<std::string> names = declared_functions(header);
  int cuda = 0, missing = 0;
  for (const std::string& name : names) {
    if (name.rfind("sp_cuda_", 0) == 0) ++cuda;
    if (dlsym(RTLD_DEFAULT, name.c_str()) == nullptr) {
      std::fprintf(stderr, "%s is declared in starprompt.h but not exported by the library%s\n",
                   name.c_str(),
                   sp_cuda_compiled() ? "" : " (add a stub to native/cuda/no_cuda.cpp)");
      ++missing;
    }
  }
  // Guards the parser itself: the header has dozens of sp_cuda_* entry points.
  if (cuda < 40) {
    std::fprintf(stderr, "found only %d sp_cuda_* declarations in %s\n", cuda, SP_HEADER_PATH);
    return 1;
  }
  std::printf("%zu declared functions (%d sp_cuda_*), %d missing from the %s build\n",
              names.size(), cuda, missing, sp_cuda_compiled() ? "CUDA" : "CPU-only");
  return missing == 0 ? 0 : 1;
}
