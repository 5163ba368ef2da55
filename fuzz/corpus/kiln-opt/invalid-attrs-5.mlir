func.func @block_global(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse block = 16, local = 1, global = -1> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
