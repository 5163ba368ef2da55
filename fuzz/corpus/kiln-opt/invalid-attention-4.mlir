func.func @key_rank(%q: tensor<?x?x4x8xf32>, %k: tensor<?x4x8xf32>) {
  %o = kiln.attention %q, %k, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
