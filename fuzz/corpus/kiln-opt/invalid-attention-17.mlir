func.func @packed_key_mask(%q: tensor<?x4x8xf32>, %cu: tensor<?xi32>, %m: tensor<?x?xi64>) {
  %o = kiln.attention %q, %q, %q key_mask %m cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x?xi64>, tensor<?xi32>) -> tensor<?x4x8xf32>
  return
}
