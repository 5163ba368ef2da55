//===- Support.h - Small helpers shared by the runtime ----------*- C++ -*-===//
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_SUPPORT_H
#define KILN_LIB_RUNTIME_SUPPORT_H

#include "kiln/Runtime/kiln_runtime.h"

#include <string>

namespace kiln {
namespace runtime {

/// printf into a std::string; messages longer than 2 KiB are cut.
std::string formatString(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/// Records `message` as the calling thread's kiln_last_error() and returns
/// `status`, so that API functions can `return fail(...)`.
kiln_status fail(kiln_status status, std::string message);

/// The calling thread's last error message ("" if none).
const char *lastErrorMessage();

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_SUPPORT_H
