// RUN: kiln-opt %s --kiln-gpu-pipeline="format=isa" | FileCheck %s
// RUN: kiln-opt %s --kiln-gpu-pipeline="format=isa" --mlir-print-ir-before=gpu-module-to-binary -o /dev/null 2>&1 | FileCheck %s --check-prefix=NVVM
// RUN: kiln-opt %s --kiln-gpu-pipeline="format=isa cuda-arch=sm_90" | FileCheck %s --check-prefix=SM90

// The whole GPU pipeline on a linear + GELU: the host is LLVM dialect that
// allocates through the arena hook and launches one kernel per linalg op
// (fill, matmul, bias + GELU); gpu.launch_func becomes mgpu* calls when the
// module is translated to LLVM IR. The kernels are NVVM (erf from
// libdevice), embedded as PTX for the requested architecture.

// CHECK: llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
// CHECK-LABEL: llvm.func @forward
// CHECK: gpu.launch_func @forward_kernel::@forward_kernel blocks in ({{.*}}) threads in ({{.*}}) : i64 args(
// CHECK: gpu.launch_func @forward_kernel_0::@forward_kernel
// CHECK: gpu.launch_func @forward_kernel_1::@forward_kernel
// CHECK-NOT: linalg.
// CHECK-NOT: scf.
// CHECK-NOT: gpu.module
// CHECK: gpu.binary @forward_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80"
// CHECK-SAME: assembly = "
// CHECK-SAME: .target sm_80
// CHECK-SAME: .visible .entry forward_kernel(
// CHECK-SAME: ld.global
// CHECK: gpu.binary @forward_kernel_0
// CHECK: gpu.binary @forward_kernel_1
// CHECK-NOT: __nv_erff

// NVVM: gpu.module @forward_kernel [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80", link = [
// NVVM: llvm.func @forward_kernel(
// NVVM: nvvm.read.ptx.sreg.ctaid.x
// NVVM: nvvm.read.ptx.sreg.tid.x range <i32, 0, 256>
// NVVM: llvm.load
// NVVM: llvm.store
// NVVM: gpu.module @forward_kernel_0
// NVVM: llvm.fmul
// NVVM: gpu.module @forward_kernel_1
// NVVM: llvm.call @__nv_erff

// SM90: gpu.binary @forward_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90"
// SM90-SAME: .target sm_90
func.func @forward(%x: tensor<?x?x16xf32>) -> tensor<?x?x32xf32> {
  %w = kiln.param "fc.weight" : tensor<32x16xf32>
  %b = kiln.param "fc.bias" : tensor<32xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %z = kiln.activation <gelu> %y : tensor<?x?x32xf32>
  return %z : tensor<?x?x32xf32>
}
