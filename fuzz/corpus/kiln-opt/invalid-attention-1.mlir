func.func @heads_positive(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 0 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
