// RUN: kiln-opt %s --canonicalize --split-input-file | FileCheck %s

// Packing an unpacked tensor again, with the lengths and padded length its
// cu_seqlens came from, gives the packed tensor back.

// CHECK-LABEL: func.func @round_trip
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>, %[[LEN:.*]]: tensor<?xi32>)
// CHECK: %[[P:.*]], %[[CU:.*]] = kiln.pack %[[X]] lengths %[[LEN]] side <left>
// CHECK: %[[Y:.*]] = kiln.activation <silu> %[[P]]
// CHECK-NOT: kiln.unpack
// CHECK-NOT: kiln.pack
// CHECK: return %[[Y]], %[[CU]]
func.func @round_trip(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>) {
  %c1 = arith.constant 1 : index
  %p, %cu = kiln.pack %x lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %a = kiln.activation <silu> %p : tensor<?x8xf32>
  %u = kiln.unpack %a cu_seqlens %cu seq_len %s side <left> : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %q, %cu2 = kiln.pack %u lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %q, %cu2 : tensor<?x8xf32>, tensor<?xi32>
}

// -----

// Static padded length.

// CHECK-LABEL: func.func @static_seq
// CHECK: kiln.pack
// CHECK-NOT: kiln.pack
// CHECK: return
func.func @static_seq(%x: tensor<?x16x8xf32>, %len: tensor<?xi32>) -> tensor<?x8xf32> {
  %c16 = arith.constant 16 : index
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x16x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %u = kiln.unpack %p cu_seqlens %cu seq_len %c16 : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %q, %cu2 = kiln.pack %u lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %q : tensor<?x8xf32>
}

// -----

// Other sides, other lengths or a shorter padded length: no round trip.

// CHECK-LABEL: func.func @no_round_trip
// CHECK-COUNT-4: kiln.pack
func.func @no_round_trip(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>, %other: tensor<?xi32>, %short: index)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %c1 = arith.constant 1 : index
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %left, %cu1 = kiln.pack %u lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %others, %cu2 = kiln.pack %u lengths %other : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %v = kiln.unpack %p cu_seqlens %cu seq_len %short : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %cut, %cu3 = kiln.pack %v lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %left, %others, %cut : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
