func.func @cu_seqlens_needs_packed(%q: tensor<?x?x4x8xf32>, %cu: tensor<?xi32>) {
  %o = kiln.attention %q, %q, %q cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?xi32>) -> tensor<?x?x4x8xf32>
  return
}
