func.func @cache_needs_both(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>) {
  %o:3 = "kiln.attention"(%q, %q, %q, %c, %p) <{num_heads = 4 : i64, num_kv_heads = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 1>}>
      : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}
