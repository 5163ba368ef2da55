func.func @key_head_dim(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x16xf32>) {
  %o = kiln.attention %q, %k, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
