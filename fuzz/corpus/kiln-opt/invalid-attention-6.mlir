func.func @dynamic_head_dim(%q: tensor<?x?x4x?xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x?x4x?xf32>, tensor<?x?x4x?xf32>, tensor<?x?x4x?xf32>) -> tensor<?x?x4x?xf32>
  return
}
