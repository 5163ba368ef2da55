func.func @query_heads(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 8 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
