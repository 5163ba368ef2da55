func.func @cache_element_type(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf16>, %p: tensor<?xi64>) {
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf16>, tensor<?x64x4x8xf16>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf16>, tensor<?x64x4x8xf16>)
  return
}
