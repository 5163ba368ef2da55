func.func @static_seq(%x: tensor<?x16x8xf32>, %len: tensor<?xi32>) -> tensor<?x8xf32> {
  %c16 = arith.constant 16 : index
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x16x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %u = kiln.unpack %p cu_seqlens %cu seq_len %c16 : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %q, %cu2 = kiln.pack %u lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %q : tensor<?x8xf32>
}
