func.func @key_batch(%q: tensor<2x?x4x8xf32>, %k: tensor<3x?x4x8xf32>) {
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 4 : (tensor<2x?x4x8xf32>, tensor<3x?x4x8xf32>, tensor<3x?x4x8xf32>) -> tensor<2x?x4x8xf32>
  return
}
