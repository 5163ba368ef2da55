// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// The fused kernel: scf.forall over (batch, head); per query row, the
// query is read in 8-lane pieces and scaled; keys [0, min(kv_len, i + 1))
// (causal) are visited in blocks of 8 and then one at a time, carrying the
// running max, the running sum and the output pieces; no score tensor.
// Query head h reads KV head h / 2 (GQA 4:2). With dynamic lengths the
// split-K form (@decode_split_k) is chosen at run time for at most 4 query
// rows against at least 256 keys; this form is the other branch.
// CHECK-LABEL: func.func @causal_gqa(
// CHECK-SAME: %[[Q:.*]]: tensor<?x?x4x16xf32>, %[[K:.*]]: tensor<?x?x2x16xf32>, %[[V:.*]]: tensor<?x?x2x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[ROWS:.*]] = tensor.dim %[[Q]], %c1
// CHECK: %[[FEW:.*]] = arith.cmpi ule, %[[ROWS]], %c4
// CHECK: %[[KEYS:.*]] = tensor.dim %[[K]], %c1
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %[[KEYS]], %c256
// CHECK: %[[DECODE:.*]] = arith.andi %[[FEW]], %[[MANY]]
// CHECK: scf.if %[[DECODE]]
// CHECK: } else {
// CHECK: scf.forall (%[[B:.*]], %[[H:.*]]) in (%{{.*}}, 4) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<?x?x4x16xf32>)
// CHECK: %[[TILE:.*]] = tensor.extract_slice %[[OUT]][%[[B]], 0, %[[H]], 0] [1, %{{.*}}, 1, 16] [1, 1, 1, 1] : tensor<?x?x4x16xf32> to tensor<?x16xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[TILE]])
// CHECK: %[[KVH:.*]] = arith.divui %[[H]], %c2
// CHECK: vector.transfer_read %[[Q]][%[[B]], %[[I]], %[[H]], %{{.*}}]{{.*}} : tensor<?x?x4x16xf32>, vector<8xf32>
// CHECK: arith.minui
// CHECK: scf.for {{.*}} step %c8{{.*}} iter_args({{.*}}) -> (f32, f32, vector<8xf32>, vector<8xf32>)
// CHECK: vector.transfer_read %[[K]][%[[B]], %{{.*}}, %[[KVH]], %{{.*}}]
// CHECK: vector.reduction <add>
// CHECK: vector.from_elements {{.*}} : vector<8xf32>
// CHECK: vector.reduction <maximumf>
// CHECK: math.exp {{.*}} : f32
// CHECK: math.exp {{.*}} : vector<8xf32>
// CHECK: vector.transfer_read %[[V]]
// CHECK: vector.fma
// CHECK: scf.for {{.*}} -> (f32, f32, vector<8xf32>, vector<8xf32>)
// CHECK: vector.from_elements {{.*}} : vector<1xf32>
// CHECK: arith.divf
// CHECK: vector.transfer_write
// CHECK: tensor.parallel_insert_slice
func.func @causal_gqa(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32> {
  %0 = kiln.attention %q, %k, %v heads 4 kv_heads 2 mask <causal>
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %0 : tensor<?x?x4x16xf32>
}

// -----

// A key mask hides keys inside a block: their scores become -inf.
// CHECK-LABEL: func.func @padding(
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<?x?xi64>
// CHECK: vector.transfer_read %[[M]]{{.*}} : tensor<?x?xi64>, vector<8xi64>
// CHECK: arith.cmpi ne, {{.*}} : vector<8xi64>
// CHECK: arith.select {{.*}} : vector<8xi1>, vector<8xf32>
func.func @padding(%q: tensor<?x?x2x8xf32>, %m: tensor<?x?xi64>) -> tensor<?x?x2x8xf32> {
  %0 = kiln.attention %q, %q, %q key_mask %m heads 2 kv_heads 2 mask <padding>
      : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?xi64>) -> tensor<?x?x2x8xf32>
  return %0 : tensor<?x?x2x8xf32>
}

// -----

// A sliding window starts the key loop at max(0, i + 1 - window).
// CHECK-LABEL: func.func @window(
// CHECK: %[[W:.*]] = arith.constant 5 : index
// CHECK: arith.cmpi ugt, %{{.*}}, %[[W]]
// CHECK: arith.subi %{{.*}}, %[[W]]
// CHECK: scf.for
func.func @window(%q: tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32> {
  %0 = kiln.attention %q, %q, %q heads 2 kv_heads 2 mask <sliding_window 5>
      : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32>
  return %0 : tensor<?x?x2x8xf32>
}

// -----

// Forms the kernel does not take keep the reference lowering: the clipped
// softmax, block-sparse masks, head dims not a multiple of 8.
// CHECK-LABEL: func.func @fallbacks(
// CHECK-NOT: vector.fma
// CHECK-COUNT-3: linalg.generic {{.*}}"reduction"]
func.func @fallbacks(%q: tensor<?x?x2x8xf32>, %r: tensor<?x?x2x6xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x6xf32>) {
  %0 = kiln.attention %q, %q, %q heads 2 kv_heads 2 mask <causal> softmax <clipped zeta = 1.003, gamma = -0.003>
      : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32>
  %1 = kiln.attention %q, %q, %q heads 2 kv_heads 2 mask <block_sparse block = 4, local = 1, global = 1>
      : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32>
  %2 = kiln.attention %r, %r, %r heads 2 kv_heads 2
      : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>) -> tensor<?x?x2x6xf32>
  return %0, %1, %2 : tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x6xf32>
}

// -----

// Decode, static shapes: split-K only. 16 tasks per sequence, each over one
// chunk of ceil(1024 / 16) keys, keeping per (row, head) the output pieces,
// max and sum in a [1, 4, 16 + 2] slice of the partial states; per block of
// 8 keys the heads are the inner loop (whole key rows read in turn). A
// second scf.forall over (batch, head) merges the 16 chunks: the largest
// max, then the rescaled sums and outputs.
// CHECK-LABEL: func.func @decode_split_k(
// CHECK-NOT: scf.if
// CHECK: %[[PARTIALS:.*]] = scf.forall (%[[B:.*]], %[[C:.*]]) in (%{{.*}}, 16) shared_outs(%[[P:.*]] = %{{.*}}) -> (tensor<?x16x?x4x18xf32>)
// CHECK: tensor.extract_slice %[[P]][%[[B]], %[[C]], 0, 0, 0] [1, 1, %{{.*}}, 4, 18]
// CHECK: arith.ceildivui %c1024, %c16
// CHECK: scf.for {{.*}} step %c8
// CHECK: scf.for %[[H:[a-z0-9_]+]] = %{{.*}} to %c4 step
// CHECK: arith.divui %[[H]], %c2
// CHECK: vector.reduction <maximumf>
// CHECK: tensor.insert
// CHECK: tensor.parallel_insert_slice
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, 4)
// CHECK: scf.for %{{.*}} = %{{.*}} to %c16 step %{{.*}} iter_args(%{{.*}} = %cst{{.*}}) -> (f32)
// CHECK: tensor.extract %[[PARTIALS]]
// CHECK: arith.maximumf
// CHECK: scf.for %{{.*}} = %{{.*}} to %c16 step %{{.*}} iter_args({{.*}}) -> (f32, vector<8xf32>, vector<8xf32>)
// CHECK: math.exp {{.*}} : f32
// CHECK: vector.fma
// CHECK: arith.divf
func.func @decode_split_k(%q: tensor<2x1x4x16xf32>, %k: tensor<2x1024x2x16xf32>, %v: tensor<2x1024x2x16xf32>) -> tensor<2x1x4x16xf32> {
  %0 = kiln.attention %q, %k, %v heads 4 kv_heads 2 mask <causal>
      : (tensor<2x1x4x16xf32>, tensor<2x1024x2x16xf32>, tensor<2x1024x2x16xf32>) -> tensor<2x1x4x16xf32>
  return %0 : tensor<2x1x4x16xf32>
}
