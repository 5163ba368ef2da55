//===- Cuda.cpp - CUDA driver API through dlopen, and the mgpu* ABI -------===//
//
// Part of Kiln. Opens libcuda.so.1 at run time (nothing links CUDA) and
// implements, over the driver API, the MLIR CUDA runtime-wrapper functions
// that `gpu-to-llvm` makes model.so call: module load/unload, function
// lookup, kernel launch, streams, events, memory. The signatures follow the
// declarations `gpu-to-llvm` emits.
//
// Every launch goes to the legacy default stream, in order, without waiting:
// generated host code never reads device memory, so the runtime waits once,
// after the call (kiln_context_run). KILN_CUDA_SYNC=1 waits after every
// launch instead, to pin a failure to the kernel that caused it.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

#define KILN_EXPORT extern "C" __attribute__((visibility("default")))

using namespace kiln::runtime;

namespace {

// The driver API's types, as far as Kiln uses them (cuda.h, ABI-stable).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
constexpr CUresult kSuccess = 0;
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
constexpr int kJitOptimizationLevel = 7;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
};

struct State {
  std::once_flag once;
  bool ready = false;
  std::string initError;
  Driver driver{};
  CUcontext context = nullptr;
  std::string name;
  bool syncEachLaunch = false;
  std::mutex errorMutex;
  std::string firstError;
};

State &state() {
  static State instance;
  return instance;
}

std::string describe(CUresult result) {
  const Driver &d = state().driver;
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(result, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(result, &text);
  char buffer[256];
  snprintf(buffer, sizeof(buffer), "%s (%d): %s", name ? name : "CUDA error",
           result, text ? text : "unknown");
  return buffer;
}

/// Records the first failure of an mgpu* call; the runtime reports it.
void recordError(const char *what, const std::string &detail) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.errorMutex);
  if (s.firstError.empty())
    s.firstError = std::string(what) + " failed: " + detail;
}

bool check(CUresult result, const char *what) {
  if (result == kSuccess)
    return true;
  recordError(what, describe(result));
  return false;
}

/// Makes the primary context current on the calling thread.
bool ready(const char *what) {
  std::string error;
  if (!cuda::initialize(error)) {
    recordError(what, error);
    return false;
  }
  State &s = state();
  return check(s.driver.cuCtxSetCurrent(s.context), "cuCtxSetCurrent");
}

template <typename F>
bool load(void *library, const char *symbol, F &function,
          std::string &error) {
  function = reinterpret_cast<F>(::dlsym(library, symbol));
  if (!function) {
    error = std::string("the CUDA driver library lacks '") + symbol + "'";
    return false;
  }
  return true;
}

void initializeOnce(State &s) {
  const char *override = std::getenv("KILN_CUDA_DRIVER");
  const char *libraryName = override && *override ? override : "libcuda.so.1";
  void *library = ::dlopen(libraryName, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = ::dlerror();
    s.initError = std::string("cannot load the CUDA driver library '") +
                  libraryName + "' (" + (reason ? reason : "dlopen failed") +
                  "); a model compiled with --target=cuda needs an NVIDIA "
                  "GPU and its driver";
    return;
  }
  Driver &d = s.driver;
  std::string &e = s.initError;
  if (!load(library, "cuInit", d.cuInit, e) ||
      !load(library, "cuDeviceGetCount", d.cuDeviceGetCount, e) ||
      !load(library, "cuDeviceGet", d.cuDeviceGet, e) ||
      !load(library, "cuDeviceGetName", d.cuDeviceGetName, e) ||
      !load(library, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, e) ||
      !load(library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain,
            e) ||
      !load(library, "cuCtxSetCurrent", d.cuCtxSetCurrent, e) ||
      !load(library, "cuCtxSynchronize", d.cuCtxSynchronize, e) ||
      !load(library, "cuGetErrorName", d.cuGetErrorName, e) ||
      !load(library, "cuGetErrorString", d.cuGetErrorString, e) ||
      !load(library, "cuModuleLoadData", d.cuModuleLoadData, e) ||
      !load(library, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, e) ||
      !load(library, "cuModuleUnload", d.cuModuleUnload, e) ||
      !load(library, "cuModuleGetFunction", d.cuModuleGetFunction, e) ||
      !load(library, "cuLaunchKernel", d.cuLaunchKernel, e) ||
      !load(library, "cuStreamCreate", d.cuStreamCreate, e) ||
      !load(library, "cuStreamDestroy_v2", d.cuStreamDestroy, e) ||
      !load(library, "cuStreamSynchronize", d.cuStreamSynchronize, e) ||
      !load(library, "cuStreamWaitEvent", d.cuStreamWaitEvent, e) ||
      !load(library, "cuEventCreate", d.cuEventCreate, e) ||
      !load(library, "cuEventDestroy_v2", d.cuEventDestroy, e) ||
      !load(library, "cuEventRecord", d.cuEventRecord, e) ||
      !load(library, "cuEventSynchronize", d.cuEventSynchronize, e) ||
      !load(library, "cuMemAlloc_v2", d.cuMemAlloc, e) ||
      !load(library, "cuMemFree_v2", d.cuMemFree, e) ||
      !load(library, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, e) ||
      !load(library, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, e) ||
      !load(library, "cuMemcpy", d.cuMemcpy, e) ||
      !load(library, "cuMemsetD32Async", d.cuMemsetD32Async, e) ||
      !load(library, "cuMemsetD16Async", d.cuMemsetD16Async, e))
    return;
  CUresult result = d.cuInit(0);
  if (result != kSuccess) {
    e = "cuInit failed: " + describe(result) +
        " (is an NVIDIA GPU present and its driver loaded?)";
    return;
  }
  int count = 0;
  if ((result = d.cuDeviceGetCount(&count)) != kSuccess || count == 0) {
    e = "no CUDA device found" +
        (result != kSuccess ? ": " + describe(result) : std::string());
    return;
  }
  CUdevice device = 0;
  if ((result = d.cuDeviceGet(&device, 0)) != kSuccess ||
      (result = d.cuDevicePrimaryCtxRetain(&s.context, device)) != kSuccess ||
      (result = d.cuCtxSetCurrent(s.context)) != kSuccess) {
    e = "cannot create a context on CUDA device 0: " + describe(result);
    return;
  }
  char name[256] = {0};
  d.cuDeviceGetName(name, sizeof(name) - 1, device);
  int major = 0, minor = 0;
  d.cuDeviceGetAttribute(&major, kAttributeComputeCapabilityMajor, device);
  d.cuDeviceGetAttribute(&minor, kAttributeComputeCapabilityMinor, device);
  s.name = std::string(name) + " (sm_" + std::to_string(major) +
           std::to_string(minor) + ")";
  const char *sync = std::getenv("KILN_CUDA_SYNC");
  s.syncEachLaunch = sync && *sync && std::strcmp(sync, "0") != 0;
  s.ready = true;
}

} // namespace

bool cuda::initialize(std::string &error) {
  State &s = state();
  std::call_once(s.once, [&] { initializeOnce(s); });
  if (!s.ready) {
    error = s.initError;
    return false;
  }
  return true;
}

std::string cuda::deviceName() { return state().ready ? state().name : ""; }

void *cuda::allocate(uint64_t nbytes) {
  if (!ready("cuMemAlloc"))
    return nullptr;
  CUdeviceptr pointer = 0;
  // The arena asks for 64-byte alignment; cuMemAlloc gives at least 256.
  if (state().driver.cuMemAlloc(&pointer, nbytes ? nbytes : 1) != kSuccess)
    return nullptr;
  return reinterpret_cast<void *>(pointer);
}

void cuda::release(void *pointer) {
  if (pointer && state().ready)
    state().driver.cuMemFree(reinterpret_cast<CUdeviceptr>(pointer));
}

bool cuda::copyToDevice(void *device, const void *host, size_t nbytes,
                        std::string &error) {
  if (!nbytes)
    return true;
  if (!ready("cuMemcpyHtoD")) {
    error = takeError();
    return false;
  }
  CUresult result = state().driver.cuMemcpyHtoD(
      reinterpret_cast<CUdeviceptr>(device), host, nbytes);
  if (result != kSuccess) {
    error = "copying " + std::to_string(nbytes) +
            " bytes to the GPU failed: " + describe(result);
    return false;
  }
  return true;
}

bool cuda::copyToHost(void *host, const void *device, size_t nbytes,
                      std::string &error) {
  if (!nbytes)
    return true;
  if (!ready("cuMemcpyDtoH")) {
    error = takeError();
    return false;
  }
  CUresult result = state().driver.cuMemcpyDtoH(
      host, reinterpret_cast<CUdeviceptr>(device), nbytes);
  if (result != kSuccess) {
    error = "copying " + std::to_string(nbytes) +
            " bytes from the GPU failed: " + describe(result);
    return false;
  }
  return true;
}

bool cuda::synchronize(std::string &error) {
  if (ready("cuCtxSynchronize"))
    check(state().driver.cuCtxSynchronize(), "waiting for the GPU");
  error = takeError();
  return error.empty();
}

std::string cuda::takeError() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.errorMutex);
  std::string error;
  error.swap(s.firstError);
  return error;
}

//===----------------------------------------------------------------------===//
// The MLIR CUDA runtime-wrapper ABI. Failures are recorded (the first one is
// reported by the call that caused it) rather than aborting the process.
//===----------------------------------------------------------------------===//

KILN_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  if (!ready("loading a GPU module"))
    return nullptr;
  CUmodule module = nullptr;
  check(state().driver.cuModuleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

KILN_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!ready("loading a GPU module (PTX)"))
    return nullptr;
  char log[4096] = {0};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize,
                   kJitOptimizationLevel};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log) - 1),
                    reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  CUmodule module = nullptr;
  CUresult result =
      state().driver.cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != kSuccess)
    recordError("JIT-compiling the PTX (cuModuleLoadDataEx)",
                describe(result) + (log[0] ? std::string("\n") + log : ""));
  return module;
}

KILN_EXPORT void mgpuModuleUnload(CUmodule module) {
  if (module && state().ready)
    state().driver.cuModuleUnload(module);
}

KILN_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module,
                                             const char *name) {
  if (!module) {
    recordError("looking up a kernel", "its GPU module was not loaded");
    return nullptr;
  }
  CUfunction function = nullptr;
  check(state().driver.cuModuleGetFunction(&function, module, name),
        "cuModuleGetFunction");
  return function;
}

KILN_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                  intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY,
                                  intptr_t blockZ, int32_t smem,
                                  CUstream stream, void **params,
                                  void **extra, size_t /*paramsCount*/) {
  if (!function)
    return; // The lookup recorded why.
  // An empty grid (a dimension of size 0) has nothing to do.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  State &s = state();
  if (!check(s.driver.cuCtxSetCurrent(s.context), "cuCtxSetCurrent"))
    return;
  if (!check(s.driver.cuLaunchKernel(function, gridX, gridY, gridZ, blockX,
                                     blockY, blockZ, smem, stream, params,
                                     extra),
             "cuLaunchKernel"))
    return;
  if (s.syncEachLaunch)
    check(s.driver.cuCtxSynchronize(), "a kernel (KILN_CUDA_SYNC)");
}

/// Streams: everything runs on the legacy default stream (null), in order.
KILN_EXPORT CUstream mgpuStreamCreate() { return nullptr; }

KILN_EXPORT void mgpuStreamDestroy(CUstream stream) {
  if (stream && state().ready)
    state().driver.cuStreamDestroy(stream);
}

/// The call waits once at its end; see the file comment.
KILN_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  if (stream && state().ready)
    check(state().driver.cuStreamSynchronize(stream), "cuStreamSynchronize");
}

KILN_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (state().ready)
    check(state().driver.cuStreamWaitEvent(stream, event, 0),
          "cuStreamWaitEvent");
}

KILN_EXPORT CUevent mgpuEventCreate() {
  if (!ready("cuEventCreate"))
    return nullptr;
  CUevent event = nullptr;
  // CU_EVENT_DISABLE_TIMING: events only order work here.
  check(state().driver.cuEventCreate(&event, 0x2), "cuEventCreate");
  return event;
}

KILN_EXPORT void mgpuEventDestroy(CUevent event) {
  if (event && state().ready)
    state().driver.cuEventDestroy(event);
}

KILN_EXPORT void mgpuEventSynchronize(CUevent event) {
  if (event && state().ready)
    check(state().driver.cuEventSynchronize(event), "cuEventSynchronize");
}

KILN_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event && state().ready)
    check(state().driver.cuEventRecord(event, stream), "cuEventRecord");
}

/// gpu.alloc outside the arena; generated code allocates through
/// _mlir_memref_to_llvm_alloc (the call's device arena) instead.
KILN_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, CUstream /*stream*/,
                               bool isHostShared) {
  if (isHostShared) {
    recordError("mgpuMemAlloc", "host-shared memory is not supported");
    return nullptr;
  }
  void *pointer = cuda::allocate(sizeBytes);
  if (!pointer)
    recordError("mgpuMemAlloc",
                "out of device memory (" + std::to_string(sizeBytes) +
                    " bytes)");
  return pointer;
}

KILN_EXPORT void mgpuMemFree(void *pointer, CUstream /*stream*/) {
  cuda::release(pointer);
}

/// Synchronous: the host reads what a device-to-host copy brings (a scalar
/// kiln-gpu-map-to-kernels fetches) right after, and stream waits are
/// no-ops here. Ordered after the kernels launched before it.
KILN_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                            CUstream /*stream*/) {
  if (!sizeBytes || !ready("mgpuMemcpy"))
    return;
  check(state().driver.cuMemcpy(reinterpret_cast<CUdeviceptr>(dst),
                                reinterpret_cast<CUdeviceptr>(src), sizeBytes),
        "cuMemcpy");
}

KILN_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                              CUstream stream) {
  if (!count || !ready("mgpuMemset32"))
    return;
  check(state().driver.cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst),
                                        value, count, stream),
        "cuMemsetD32Async");
}

KILN_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                              CUstream stream) {
  if (!count || !ready("mgpuMemset16"))
    return;
  check(state().driver.cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst),
                                        value, count, stream),
        "cuMemsetD16Async");
}
