func.func @cache_results(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>) {
  %o = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> tensor<?x1x4x8xf32>
  return
}
