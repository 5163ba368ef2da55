func.func @v_cache_capacity(%q: tensor<?x1x4x8xf32>, %kc: tensor<?x64x4x8xf32>, %vc: tensor<?x32x4x8xf32>, %p: tensor<?xi64>) {
  %o:3 = kiln.attention %q, %q, %q cache(%kc, %vc) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x32x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x32x4x8xf32>)
  return
}
