func.func @packed_needs_cu_seqlens(%q: tensor<?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
  return
}
