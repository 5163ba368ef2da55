// RUN: kiln-opt %s --split-input-file --kiln-gpu-map-to-kernels --verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s --split-input-file --kiln-gpu-map-to-kernels="block-size=128" --verify-diagnostics | FileCheck %s --check-prefix=B128

// An elementwise op: one 1-D loop over all elements (collapsed), tiled by
// the block size, tiles on blocks and points on threads.

// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel (%[[BLOCK:.*]]) = (%{{.*}}) to (%{{.*}}) step (%[[STEP:.*]])
// CHECK:   scf.parallel (%[[THREAD:.*]]) = (%{{.*}}) to (%[[STEP]])
// CHECK:     scf.if
// CHECK:       arith.divsi
// CHECK:       memref.load
// CHECK:       math.exp
// CHECK:       memref.store
// CHECK:   mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
// B128-LABEL: func.func @elementwise
// B128: arith.constant 128 : index
func.func @elementwise(%a: memref<?x?xf32>, %out: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x?xf32>) outs(%out : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A matmul: one thread per output element, the k loop sequential inside.

// CHECK-LABEL: func.func @matmul
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     scf.for
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:   mapping = [#gpu.loop_dim_map<processor = thread_x
func.func @matmul(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// memref.copy runs as a kernel; a reduction to a scalar (no parallel dim)
// runs in a one-iteration loop, i.e. one thread.

// CHECK-LABEL: func.func @copy_and_sum
// CHECK-NOT: memref.copy
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     memref.load
// CHECK:     memref.store
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     scf.for
// CHECK:       arith.addf
func.func @copy_and_sum(%a: memref<?xf32>, %b: memref<?xf32>, %s: memref<f32>) {
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%b : memref<?xf32>) outs(%s : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A constant table read inside a kernel is re-fetched there, so that
// outlining copies the global into the GPU module.

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
// CHECK-LABEL: func.func @global_table
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     memref.get_global @table
// CHECK:     memref.load
func.func @global_table(%i: memref<?xindex>, %out: memref<?xf32>) {
  %t = memref.get_global @table : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%i : memref<?xindex>) outs(%out : memref<?xf32>) {
  ^bb0(%k: index, %y: f32):
    %v = memref.load %t[%k] : memref<4xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

// A scalar the host needs (here, a loop bound) is fetched: a one-thread
// kernel copies it to a device scalar, gpu.memcpy brings it to the stack.

// CHECK-LABEL: func.func @host_scalar
// CHECK: %[[DEV:.*]] = memref.alloc() : memref<1xindex>
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     %[[V:.*]] = memref.load %arg0
// CHECK:     memref.store %[[V]], %[[DEV]]
// CHECK: %[[HOST:.*]] = memref.alloca() : memref<1xindex>
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[T1:.*]] = gpu.memcpy async [%[[T0]]] %[[HOST]], %[[DEV]]
// CHECK: gpu.wait [%[[T1]]]
// CHECK: %[[N:.*]] = memref.load %[[HOST]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N]]
func.func @host_scalar(%lengths: memref<?xindex>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.load %lengths[%c0] : memref<?xindex>
  scf.for %i = %c0 to %n step %c1 {
    %v = arith.constant 1.0 : f32
    linalg.fill ins(%v : f32) outs(%out : memref<?xf32>)
  }
  return
}

// -----

// The host cannot write device memory: a store outside any kernel is an
// error.

func.func @host_store(%a: memref<?xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  // expected-error @below {{'memref.store' would access device memory on the host: kiln-gpu-pipeline does not support this on cuda yet}}
  memref.store %v, %a[%c0] : memref<?xf32>
  return
}
