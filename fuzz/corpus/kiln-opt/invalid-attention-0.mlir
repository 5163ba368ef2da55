func.func @heads_multiple(%q: tensor<?x?x6x8xf32>, %k: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %k, %k heads 6 kv_heads 4 : (tensor<?x?x6x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x6x8xf32>
  return
}
