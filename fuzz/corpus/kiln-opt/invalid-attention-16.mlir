func.func @cu_seqlens_i64(%q: tensor<?x4x8xf32>, %cu: tensor<?xi64>) {
  %o = kiln.attention %q, %q, %q cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}
