func.func @element_type(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x8xf16>) {
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf16>, tensor<?x?x4x8xf16>) -> tensor<?x?x4x8xf32>
  return
}
