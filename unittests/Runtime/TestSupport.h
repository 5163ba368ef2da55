//===- TestSupport.h - Helpers for the runtime tests ------------*- C++ -*-===//
//
//===----------------------------------------------------------------------===//
#ifndef KILN_UNITTESTS_RUNTIME_TESTSUPPORT_H
#define KILN_UNITTESTS_RUNTIME_TESTSUPPORT_H

#include <string>
#include <vector>

namespace kiln {
namespace testing {

/// The scale weight the tests write; the fake model multiplies by it.
extern const float kScale[4];

/// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return dirPath; }
  /// `path()/name`.
  std::string file(const std::string &name) const;

private:
  std::string dirPath;
};

/// Bytes of a safetensors file with `header` (the fake model's by default)
/// and `scale`.
std::string fakeWeightsFile(const float scale[4] = kScale,
                            const char *header = nullptr);

/// Writes `bytes` to `path`; false on failure.
bool writeFile(const std::string &path, const std::string &bytes);
/// Reads `path` into `bytes`; false on failure.
bool readFile(const std::string &path, std::string &bytes);

/// Fills `dir` with a model: `soPath` copied to model.so, plus the fake
/// weights unless `weights` is false.
bool makeModelDir(const TempDir &dir, const char *soPath, bool weights = true);

/// Runs a shell command, capturing stdout and stderr together.
int runCommand(const std::string &command, std::string &output);

/// Single-quotes `text` for /bin/sh.
std::string shellQuote(const std::string &text);

} // namespace testing
} // namespace kiln

#endif // KILN_UNITTESTS_RUNTIME_TESTSUPPORT_H
