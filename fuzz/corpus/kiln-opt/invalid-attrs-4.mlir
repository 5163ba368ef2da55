func.func @block_local(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse block = 16, local = 0, global = 0> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
