func.func @softmax_zeta(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <clipped zeta = 0.5, gamma = -0.1> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
