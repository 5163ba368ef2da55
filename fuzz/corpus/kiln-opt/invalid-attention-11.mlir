func.func @value_length(%q: tensor<?x?x4x8xf32>, %k: tensor<?x5x4x8xf32>, %v: tensor<?x6x4x8xf32>) {
  %o = kiln.attention %q, %k, %v heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x5x4x8xf32>, tensor<?x6x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
