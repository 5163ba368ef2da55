// The kernel through LLVM's NVPTX backend: the PTX has the tensor-core
// instructions the kernel is built around.
// RUN: kiln-opt %s --pass-pipeline="builtin.module(kiln-gpu-matmul-to-mma, nvvm-attach-target{chip=sm_80 features=+ptx80 O=3}, gpu.module(convert-nvgpu-to-nvvm, convert-scf-to-cf, convert-vector-to-llvm, convert-gpu-to-nvvm, canonicalize, cse, reconcile-unrealized-casts), gpu-module-to-binary{format=isa})" -o %t.mlir
// RUN: %python %kiln_src_root/scripts/gpu-extract-ptx.py %t.mlir %t.ptx
// RUN: FileCheck %s < %t.ptx

// CHECK: .target sm_80
// CHECK-LABEL: .entry kiln_mma_nn_bf16_bf16_s3(
// 48 KiB of shared memory: 3 stages of two 128x32 bf16 tiles.
// CHECK: .shared .align {{[0-9]+}} .b8 {{.*}}[24576];
// CHECK: .shared .align {{[0-9]+}} .b8 {{.*}}[24576];
// CHECK: cp.async.cg.shared.global [%{{.*}}], [%{{.*}}], 16, %{{.*}};
// CHECK: cp.async.commit_group;
// CHECK: cp.async.wait_group 1;
// CHECK: bar.sync 0;
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry kiln_mma_nt_f16_f32_s3(
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-NOT: .trans
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32

func.func @nn(%a: memref<?x?xbf16>, %b: memref<?x?xbf16>, %c: memref<?x?xbf16>) {
  linalg.matmul ins(%a, %b : memref<?x?xbf16>, memref<?x?xbf16>) outs(%c : memref<?x?xbf16>)
  return
}

func.func @nt(%a: memref<?x?xf16>, %b: memref<?x?xf16>, %c: memref<?x?xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<?x?xf16>, memref<?x?xf16>) outs(%c : memref<?x?xf32>)
  return
}
