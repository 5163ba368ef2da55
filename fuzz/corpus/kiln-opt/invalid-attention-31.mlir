func.func @key_mask_cache_capacity(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>, %m: tensor<?x1xi64>) {
  %o:3 = kiln.attention %q, %q, %q key_mask %m cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1xi64>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}
