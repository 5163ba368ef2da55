func.func @positions_need_cache(%q: tensor<?x1x4x8xf32>, %p: tensor<?xi64>) {
  %o = kiln.attention %q, %q, %q positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?xi64>) -> tensor<?x1x4x8xf32>
  return
}
