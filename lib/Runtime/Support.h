//===- Support.h - Small helpers shared by the runtime ----------*- C++ -*-===//
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_SUPPORT_H
#define KILN_LIB_RUNTIME_SUPPORT_H

#include <string>

namespace kiln {
namespace runtime {

/// printf into a std::string; messages longer than 2 KiB are cut.
std::string formatString(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_SUPPORT_H
