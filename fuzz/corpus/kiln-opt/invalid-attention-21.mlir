func.func @k_cache_rank(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x32xf32>, %p: tensor<?xi64>) {
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>)
  return
}
