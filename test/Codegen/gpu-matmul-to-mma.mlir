// RUN: kiln-opt --kiln-gpu-matmul-to-mma --split-input-file %s | FileCheck %s

// kiln.linear's projection (weight [N, K]): B is read as [N, K] tiles and
// loaded by ldmatrix without .trans; the bias broadcast into C stays.
// CHECK-LABEL: func.func @linear
// CHECK-NOT:     linalg.matmul
// CHECK:         linalg.broadcast
// CHECK:         %[[A:.*]] = memref.cast %{{.*}} : memref<200x64xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK:         %[[B:.*]] = memref.cast %{{.*}} : memref<300x64xbf16> to memref<?x?xbf16, strided<[?, 1], offset: ?>>
// CHECK:         %[[C:.*]] = memref.cast %{{.*}} : memref<200x300xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[GX:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[GY:.*]] = arith.constant 2 : index
// CHECK:         gpu.launch_func @kiln_mma_kernels::@kiln_mma_nt_bf16_f32_s3 blocks in (%[[GX]], %[[GY]], %{{.*}}) threads in (%[[C256]], %{{.*}}, %{{.*}}) args(%[[A]] : {{.*}}, %[[B]] : {{.*}}, %[[C]] : {{.*}})
// CHECK:       gpu.module @kiln_mma_kernels
// CHECK:         gpu.func @kiln_mma_nt_bf16_f32_s3(%{{.*}}: memref<?x?xbf16, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x?xbf16, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>)
// CHECK-SAME:      workgroup(%[[SA:.*]] : memref<3x128x32xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<3x128x32xbf16, #gpu.address_space<workgroup>>)
// CHECK-SAME:      kernel
// CHECK-SAME:      known_block_size = array<i32: 256, 1, 1>
// Prologue: two k-tiles in flight (A and B, two 16-byte copies per thread
// each), then wait for the first.
// CHECK-COUNT-4: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1}
// CHECK:         nvgpu.device_async_create_group
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK:         %[[G:.*]] = nvgpu.device_async_create_group
// CHECK:         nvgpu.device_async_wait %[[G]] {numGroups = 1 : i32}
// CHECK:         gpu.barrier
// CHECK:         scf.for {{.*}} iter_args
// CHECK-COUNT-4:   nvgpu.device_async_copy
// CHECK:           nvgpu.device_async_create_group
// CHECK:           nvgpu.ldmatrix %[[SA]][{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<3x128x32xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK:           nvgpu.ldmatrix %[[SB]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK:           llvm.bitcast %{{.*}} : vector<2xbf16> to i32
// CHECK:           nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-COUNT-31:  nvvm.mma.sync
// CHECK-NOT:       nvvm.mma.sync
// CHECK:           nvgpu.device_async_wait
// CHECK:           gpu.barrier
// CHECK:           scf.yield
// Epilogue: guarded f32 read-modify-write of C (bias + product).
// CHECK:         scf.if
// CHECK:           memref.load
// CHECK:           arith.addf
// CHECK:           memref.store
func.func @linear(%x: memref<200x64xbf16>, %w: memref<300x64xbf16>,
                  %bias: memref<300xf32>, %out: memref<200x300xf32>) {
  linalg.broadcast ins(%bias : memref<300xf32>) outs(%out : memref<200x300xf32>) dimensions = [0]
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<200x64xbf16>, memref<300x64xbf16>)
                            outs(%out : memref<200x300xf32>)
  return
}

// -----

// Row-major [K, N] B: [32, 128] tiles read by ldmatrix.trans; a bf16 result
// is rounded once from the f32 sum. Dynamic K and N are checked on the host.
// CHECK-LABEL: func.func @dynamic_nn
// CHECK:         %[[K:.*]] = memref.dim %arg0, %c1
// CHECK:         %[[KR:.*]] = arith.remui %[[K]], %c8
// CHECK:         %[[KOK:.*]] = arith.cmpi eq, %[[KR]], %c0
// CHECK:         cf.assert %[[KOK]], "kiln-gpu-matmul-to-mma: K must be a multiple of 8"
// CHECK:         cf.assert %{{.*}}, "kiln-gpu-matmul-to-mma: N must be a multiple of 8"
// CHECK:         arith.ceildivui
// CHECK:         gpu.launch_func @kiln_mma_kernels::@kiln_mma_nn_bf16_bf16_s3
// CHECK:         gpu.func @kiln_mma_nn_bf16_bf16_s3
// CHECK-SAME:      workgroup(%{{.*}} : memref<3x128x32xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<3x32x128xbf16, #gpu.address_space<workgroup>>)
// CHECK:           nvgpu.ldmatrix %[[SB]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:         arith.extf
// CHECK:         arith.addf
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
func.func @dynamic_nn(%a: memref<?x?xbf16>, %b: memref<?x?xbf16>, %c: memref<?x?xbf16>) {
  linalg.matmul ins(%a, %b : memref<?x?xbf16>, memref<?x?xbf16>) outs(%c : memref<?x?xbf16>)
  return
}

// -----

// Batches run on blockIdx.z; f16 mma.sync takes vector<2xf16> directly.
// Two matmuls of one kind share one kernel.
// CHECK-LABEL: func.func @batch_f16
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK:         gpu.launch_func @kiln_mma_kernels::@kiln_mma_batch_nn_f16_f32_s3 blocks in (%{{.*}}, %{{.*}}, %[[C4]])
// CHECK:         gpu.launch_func @kiln_mma_kernels::@kiln_mma_batch_nn_f16_f32_s3
// CHECK:         gpu.func @kiln_mma_batch_nn_f16_f32_s3
// CHECK-SAME:      workgroup(%{{.*}} : memref<3x128x32xf16, #gpu.address_space<workgroup>>
// CHECK:           gpu.block_id z
// CHECK:           nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT:     gpu.func
func.func @batch_f16(%a: memref<4x64x32xf16>, %b: memref<4x32x64xf16>, %c: memref<4x64x64xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<4x64x32xf16>, memref<4x32x64xf16>) outs(%c : memref<4x64x64xf32>)
  linalg.batch_matmul ins(%a, %b : memref<4x64x32xf16>, memref<4x32x64xf16>) outs(%c : memref<4x64x64xf32>)
  return
}

// -----

// f32 matmuls and mixed types stay for the generic path, without a warning.
// CHECK-LABEL: func.func @left_alone
// CHECK:         linalg.matmul ins(%{{.*}} : memref<64x64xf32>, memref<64x64xf32>)
// CHECK:         linalg.matmul ins(%{{.*}} : memref<64x64xbf16>, memref<64x64xf16>)
// CHECK-NOT:     gpu.launch_func
func.func @left_alone(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>,
                      %d: memref<64x64xbf16>, %e: memref<64x64xf16>) {
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  linalg.matmul ins(%d, %e : memref<64x64xbf16>, memref<64x64xf16>) outs(%c : memref<64x64xf32>)
  return
}
