func.func @key_heads(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
