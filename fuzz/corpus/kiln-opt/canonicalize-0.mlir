func.func @round_trip(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>) {
  %c1 = arith.constant 1 : index
  %p, %cu = kiln.pack %x lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %a = kiln.activation <silu> %p : tensor<?x8xf32>
  %u = kiln.unpack %a cu_seqlens %cu seq_len %s side <left> : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %q, %cu2 = kiln.pack %u lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %q, %cu2 : tensor<?x8xf32>, tensor<?xi32>
}
