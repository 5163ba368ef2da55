// ptxas accepts the kernels for sm_80 and sm_90 without spilling registers.
// Without ptxas this test is reported UNSUPPORTED (lit feature `ptxas`).
// REQUIRES: ptxas
// RUN: kiln-opt %s --pass-pipeline="builtin.module(kiln-gpu-matmul-to-mma, nvvm-attach-target{chip=sm_80 features=+ptx80 O=3}, gpu.module(convert-nvgpu-to-nvvm, convert-scf-to-cf, convert-vector-to-llvm, convert-gpu-to-nvvm, canonicalize, cse, reconcile-unrealized-casts), gpu-module-to-binary{format=isa})" -o %t.mlir
// RUN: %python %kiln_src_root/scripts/gpu-extract-ptx.py %t.mlir %t.ptx
// RUN: %ptxas -arch=sm_80 -O3 -v %t.ptx -o %t.sm_80.cubin > %t.sm_80.log 2>&1
// RUN: FileCheck %s < %t.sm_80.log
// RUN: grep -c "0 bytes spill stores, 0 bytes spill loads" %t.sm_80.log | FileCheck %s --check-prefix=NOSPILL
// RUN: %ptxas -arch=sm_90 -O3 -v %t.ptx -o %t.sm_90.cubin > %t.sm_90.log 2>&1
// RUN: FileCheck %s < %t.sm_90.log
// RUN: grep -c "0 bytes spill stores, 0 bytes spill loads" %t.sm_90.log | FileCheck %s --check-prefix=NOSPILL

// ptxas reports the entries in no fixed order.
// CHECK-DAG: Compiling entry function 'kiln_mma_nt_bf16_bf16_s3'
// CHECK-DAG: Compiling entry function 'kiln_mma_batch_nn_bf16_f32_s3'
// CHECK-DAG: 49152 bytes smem
// NOSPILL: 2

func.func @linear(%a: memref<?x?xbf16>, %b: memref<?x?xbf16>, %c: memref<?x?xbf16>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<?x?xbf16>, memref<?x?xbf16>) outs(%c : memref<?x?xbf16>)
  return
}

func.func @batch(%a: memref<?x?x?xbf16>, %b: memref<?x?x?xbf16>, %c: memref<?x?x?xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x?x?xbf16>, memref<?x?x?xbf16>) outs(%c : memref<?x?x?xf32>)
  return
}
