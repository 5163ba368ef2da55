//===- TestSupport.cpp - Helpers for the runtime tests --------------------===//
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "FakeModelWeights.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace kiln::testing;

const float kiln::testing::kScale[4] = {0.5f, -2.0f, 3.0f, 0.25f};

TempDir::TempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/kiln-rt-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (char *made = ::mkdtemp(buffer.data()))
    dirPath = made;
}

TempDir::~TempDir() {
  if (dirPath.empty())
    return;
  std::error_code ignored;
  fs::remove_all(dirPath, ignored);
}

std::string TempDir::file(const std::string &name) const {
  return dirPath + "/" + name;
}

std::string kiln::testing::fakeWeightsFile(const float scale[4],
                                           const char *headerText) {
  std::string header = headerText ? headerText : FAKE_WEIGHTS_HEADER;
  std::string bytes;
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((length >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(reinterpret_cast<const char *>(scale), FAKE_WEIGHTS_DATA_SIZE);
  return bytes;
}

bool kiln::testing::writeFile(const std::string &path,
                              const std::string &bytes) {
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && ok;
}

bool kiln::testing::readFile(const std::string &path, std::string &bytes) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return false;
  bytes.clear();
  char chunk[4096];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    bytes.append(chunk, got);
  std::fclose(file);
  return true;
}

bool kiln::testing::makeModelDir(const TempDir &dir, const char *soPath,
                                 bool weights) {
  std::error_code error;
  fs::copy_file(soPath, dir.file("model.so"), error);
  if (error)
    return false;
  return !weights ||
         writeFile(dir.file("model.weights.safetensors"), fakeWeightsFile());
}

int kiln::testing::runCommand(const std::string &command, std::string &output) {
  output.clear();
  std::FILE *pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return -1;
  char chunk[4096];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0)
    output.append(chunk, got);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string kiln::testing::shellQuote(const std::string &text) {
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}
