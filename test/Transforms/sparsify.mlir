// RUN: %python %S/Inputs/sparse_weights.py %t.safetensors
// RUN: kiln-opt %s --kiln-sparsify="mode=2:4 weights=%t.safetensors" | FileCheck %s --check-prefix=TWOFOUR
// RUN: kiln-opt %s --kiln-sparsify="mode=block block=16x16 weights=%t.safetensors" | FileCheck %s --check-prefix=BLOCK
// RUN: kiln-opt %s --kiln-sparsify="mode=auto weights=%t.safetensors" | FileCheck %s --check-prefix=AUTO
// RUN: kiln-opt %s --kiln-sparsify="mode=block block=16x16 min-sparsity=0.8 weights=%t.safetensors" | FileCheck %s --check-prefix=STRICT
// RUN: kiln-opt %s --kiln-sparsify=mode=off | FileCheck %s --check-prefix=OFF

// Weights with known patterns (Inputs/sparse_weights.py): dense.weight has
// no zeros, two_four.weight is exactly 2:4, block.weight keeps 2 of 8 16x16
// blocks, up.weight likewise, down.weight is dense.

func.func @linears(%x: tensor<?x64xf32>, %b: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %wd = kiln.param "dense.weight" : tensor<32x64xf32>
  %w24 = kiln.param "two_four.weight" : tensor<32x64xf32>
  %wb = kiln.param "block.weight" : tensor<32x64xf32>
  %y0 = kiln.linear %x, %wd : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %y1 = kiln.linear %x, %w24 bias %b : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %y2 = kiln.linear %x, %wb : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y0, %y1, %y2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

func.func @ffn(%x: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %up = kiln.param "up.weight" : tensor<64x32xf32>
  %down = kiln.param "down.weight" : tensor<32x64xf32>
  %y = kiln.ffn %x up %up down %down activation <gelu>
      : (tensor<?x?x32xf32>, tensor<64x32xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// 2:4 mode: only the exact 2:4 weight changes; the dense and block-sparse
// ones stay dense linears (the ffn stays whole).
// TWOFOUR-LABEL: module attributes {kiln.sparsity = [
// TWOFOUR-SAME: {block_density = -1.{{0+}}e+00 : f64, density = 1.{{0+}}e+00 : f64, form = "dense", weight = "dense.weight"}
// TWOFOUR-SAME: {block_density = -1.{{0+}}e+00 : f64, density = 0.4990234375 : f64, form = "2:4", weight = "two_four.weight"}
// TWOFOUR-SAME: form = "dense", weight = "block.weight"
// TWOFOUR-LABEL: func.func @linears
// TWOFOUR-DAG: %[[WD:.*]] = kiln.param "dense.weight" : tensor<32x64xf32>
// TWOFOUR-DAG: %[[V:.*]] = kiln.param "two_four.weight" encoding "2:4.values" : tensor<32x32xf32>
// TWOFOUR-DAG: %[[M:.*]] = kiln.param "two_four.weight" encoding "2:4.meta" : tensor<32x8xi8>
// TWOFOUR-DAG: %[[WB:.*]] = kiln.param "block.weight" : tensor<32x64xf32>
// TWOFOUR-DAG: kiln.linear %{{.*}}, %[[WD]] :
// TWOFOUR-DAG: kiln.semi_sparse_linear %{{.*}}, %[[V]], %[[M]] bias %{{.*}} :
// TWOFOUR-DAG: kiln.linear %{{.*}}, %[[WB]] :
// TWOFOUR-LABEL: func.func @ffn
// TWOFOUR: kiln.ffn

// Block mode: block.weight becomes BSR with its 2 stored blocks, the ffn is
// split around its block-sparse up projection; the others stay dense.
// BLOCK-LABEL: module attributes {kiln.sparsity = [
// BLOCK-SAME: {block_density = 1.{{0+}}e+00 : f64, density = 1.{{0+}}e+00 : f64, form = "dense", weight = "dense.weight"}
// BLOCK-SAME: {block_density = 1.{{0+}}e+00 : f64, density = 0.4990234375 : f64, form = "dense", weight = "two_four.weight"}
// BLOCK-SAME: {block_density = 2.5{{0*}}e-01 : f64, density = 2.5{{0*}}e-01 : f64, form = "bsr16x16", weight = "block.weight"}
// BLOCK-SAME: form = "bsr16x16", weight = "up.weight"
// BLOCK-SAME: form = "dense", weight = "down.weight"
// BLOCK-LABEL: func.func @linears
// BLOCK-DAG: %[[V:.*]] = kiln.param "block.weight" encoding "bsr16x16.values" : tensor<2x16x16xf32>
// BLOCK-DAG: %[[C:.*]] = kiln.param "block.weight" encoding "bsr16x16.columns" : tensor<2xi32>
// BLOCK-DAG: %[[O:.*]] = kiln.param "block.weight" encoding "bsr16x16.offsets" : tensor<3xi32>
// BLOCK-DAG: kiln.linear
// BLOCK-DAG: kiln.linear
// BLOCK-DAG: kiln.block_sparse_linear %{{.*}}, %[[V]], %[[C]], %[[O]] : (tensor<?x64xf32>, tensor<2x16x16xf32>, tensor<2xi32>, tensor<3xi32>) -> tensor<?x32xf32>
// BLOCK-LABEL: func.func @ffn
// BLOCK-NOT: kiln.ffn
// BLOCK: %[[UP:.*]] = kiln.block_sparse_linear %{{.*}} -> tensor<?x?x64xf32>
// BLOCK: %[[ACT:.*]] = kiln.activation <gelu> %[[UP]] : tensor<?x?x64xf32>
// BLOCK: kiln.linear %[[ACT]], %{{.*}} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>

// Auto: the cost model takes the block-sparse weights (a quarter of the
// blocks) and leaves the dense one dense.
// AUTO-LABEL: func.func @linears
// AUTO: kiln.linear %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<32x64xf32>)
// AUTO: kiln.block_sparse_linear
// AUTO-LABEL: func.func @ffn
// AUTO: kiln.block_sparse_linear

// min-sparsity 0.8 is above block.weight's 0.75: everything stays dense.
// STRICT-NOT: sparse_linear

// OFF-NOT: kiln.sparsity
// OFF-NOT: sparse_linear
