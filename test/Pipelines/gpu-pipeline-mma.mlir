// RUN: kiln-opt %s --kiln-gpu-to-llvm-stage="format=isa" | FileCheck %s

// Stage 3 of kiln-gpu-pipeline on buffers: the bf16 matmul becomes the
// tensor-core kernel of kiln-gpu-matmul-to-mma (which runs before the
// generic mapping), the f32 add a generic kernel; both end up as PTX.

// CHECK-LABEL: llvm.func @forward
// CHECK-DAG: gpu.launch_func @kiln_mma_kernels::
// CHECK-DAG: gpu.launch_func @forward_kernel::@forward_kernel
// CHECK-DAG: gpu.binary @kiln_mma_kernels {{.*}}mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-DAG: gpu.binary @forward_kernel {{.*}}add.rn.f32
func.func @forward(%a: memref<256x64xbf16>, %b: memref<64x128xbf16>,
                   %c: memref<256x128xf32>, %d: memref<256x128xf32>) {
  linalg.matmul ins(%a, %b : memref<256x64xbf16>, memref<64x128xbf16>)
                outs(%c : memref<256x128xf32>)
  linalg.add ins(%c, %c : memref<256x128xf32>, memref<256x128xf32>)
             outs(%d : memref<256x128xf32>)
  return
}
