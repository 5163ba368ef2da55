//===- Cuda.h - The CUDA driver, opened at run time -------------*- C++ -*-===//
//
// Part of Kiln. libkiln_runtime never links CUDA: the driver library
// (libcuda.so.1, or $KILN_CUDA_DRIVER) is dlopened the first time a model
// compiled with --target=cuda is opened. This file's functions are what the
// rest of the runtime uses; Cuda.cpp also exports the MLIR CUDA
// runtime-wrapper functions (mgpu*) that model.so's kernel launches call.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_CUDA_H
#define KILN_LIB_RUNTIME_CUDA_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {
namespace runtime {
namespace cuda {

/// Opens the driver, initializes it and makes device 0's primary context
/// current on this thread. The first call does the work; later calls return
/// its outcome. False with `error` set (naming the library) when there is
/// no driver or no device.
bool initialize(std::string &error);

/// "NVIDIA H100 80GB HBM3 (sm_90)", or "" before a successful initialize.
std::string deviceName();

/// Device memory, 256-byte aligned; null when out of memory (or no driver).
void *allocate(uint64_t nbytes);
void release(void *pointer);

/// Synchronous copies; false with `error` set on failure.
bool copyToDevice(void *device, const void *host, size_t nbytes,
                  std::string &error);
bool copyToHost(void *host, const void *device, size_t nbytes,
                std::string &error);

/// Waits for everything launched so far; false with `error` set when it or
/// any earlier mgpu* call failed (the first failure is reported).
bool synchronize(std::string &error);

/// The first failure of an mgpu* call since the last take, or "".
std::string takeError();

} // namespace cuda
} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_CUDA_H
