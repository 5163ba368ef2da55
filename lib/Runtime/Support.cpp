//===- Support.cpp - Small helpers shared by the runtime ------------------===//
//
//===----------------------------------------------------------------------===//

#include "Support.h"

#include <cstdarg>
#include <cstdio>

namespace {
/// One message per thread, so that concurrent contexts do not clobber each
/// other's errors.
thread_local std::string lastError;
} // namespace

std::string kiln::runtime::formatString(const char *fmt, ...) {
  char buffer[2048];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  return buffer;
}

kiln_status kiln::runtime::fail(kiln_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

const char *kiln::runtime::lastErrorMessage() { return lastError.c_str(); }
