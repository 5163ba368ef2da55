func.func @cache_needs_positions(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>) {
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}
