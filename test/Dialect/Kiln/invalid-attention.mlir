// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Verifier rules of kiln.attention, one case each.

func.func @heads_multiple(%q: tensor<?x?x6x8xf32>, %k: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{num_heads = 6 must be a multiple of num_kv_heads = 4}}
  %o = kiln.attention %q, %k, %k heads 6 kv_heads 4 : (tensor<?x?x6x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x6x8xf32>
  return
}

// -----

func.func @heads_positive(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{attribute 'num_kv_heads' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 0 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @scale_positive(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{scale must be positive, got -1}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 scale -1.0 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @query_rank(%q: tensor<?x32xf32>) {
  // expected-error @+1 {{query must be [batch, q_len, heads, head_dim] or packed [tokens, heads, head_dim], got [?, 32]}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @key_rank(%q: tensor<?x?x4x8xf32>, %k: tensor<?x4x8xf32>) {
  // expected-error @+1 {{key must have rank 4 ([batch, kv_len, kv_heads, head_dim]), got [?, 4, 8]}}
  %o = kiln.attention %q, %k, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @value_rank(%q: tensor<?x4x8xf32>, %v: tensor<?x?x4x8xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{value must have rank 3 ([tokens, kv_heads, head_dim]), got [?, ?, 4, 8]}}
  %o = kiln.attention %q, %q, %v cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @dynamic_head_dim(%q: tensor<?x?x4x?xf32>) {
  // expected-error @+1 {{needs static head dims in query and value}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x?x4x?xf32>, tensor<?x?x4x?xf32>, tensor<?x?x4x?xf32>) -> tensor<?x?x4x?xf32>
  return
}

// -----

func.func @query_heads(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{query has shape [?, ?, 4, 8] but expected [?, ?, 8, 8] (heads = num_heads)}}
  %o = kiln.attention %q, %q, %q heads 8 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @key_heads(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{key has shape [?, ?, 4, 8] but expected [?, ?, 2, 8] (batch of the query, kv_heads = num_kv_heads, head_dim of the query)}}
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @key_batch(%q: tensor<2x?x4x8xf32>, %k: tensor<3x?x4x8xf32>) {
  // expected-error @+1 {{key has shape [3, ?, 4, 8] but expected [2, ?, 4, 8]}}
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 4 : (tensor<2x?x4x8xf32>, tensor<3x?x4x8xf32>, tensor<3x?x4x8xf32>) -> tensor<2x?x4x8xf32>
  return
}

// -----

func.func @key_head_dim(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{key has shape [?, ?, 4, 16] but expected [?, ?, 4, 8]}}
  %o = kiln.attention %q, %k, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @value_length(%q: tensor<?x?x4x8xf32>, %k: tensor<?x5x4x8xf32>, %v: tensor<?x6x4x8xf32>) {
  // expected-error @+1 {{value has shape [?, 6, 4, 8] but expected [?, 5, 4, 8] (batch and length of the key, kv_heads = num_kv_heads)}}
  %o = kiln.attention %q, %k, %v heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x5x4x8xf32>, tensor<?x6x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @output_shape(%q: tensor<?x?x4x8xf32>, %v: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{output has shape [?, ?, 4, 8] but expected [?, ?, 4, 16] (query with the value's head_dim)}}
  %o = kiln.attention %q, %q, %v heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x16xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @element_type(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x8xf16>) {
  // expected-error @+1 {{key has element type 'f16' but expected 'f32' (that of query)}}
  %o = kiln.attention %q, %k, %k heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf16>, tensor<?x?x4x8xf16>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @packed_needs_cu_seqlens(%q: tensor<?x4x8xf32>) {
  // expected-error @+1 {{packed (rank-3) query needs cu_seqlens}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @cu_seqlens_needs_packed(%q: tensor<?x?x4x8xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{cu_seqlens needs the packed (rank-3) layout}}
  %o = kiln.attention %q, %q, %q cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?xi32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @cu_seqlens_i64(%q: tensor<?x4x8xf32>, %cu: tensor<?xi64>) {
  // expected-error @+1 {{operand #3 must be 1D tensor of 32-bit signless integer values}}
  %o = kiln.attention %q, %q, %q cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @packed_key_mask(%q: tensor<?x4x8xf32>, %cu: tensor<?xi32>, %m: tensor<?x?xi64>) {
  // expected-error @+1 {{packed layout takes neither a KV cache nor a key_mask: packing already removed the padding}}
  %o = kiln.attention %q, %q, %q key_mask %m cu_seqlens %cu heads 4 kv_heads 4 : (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x?xi64>, tensor<?xi32>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @cache_needs_both(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{needs both k_cache and v_cache, or neither}}
  %o:3 = "kiln.attention"(%q, %q, %q, %c, %p) <{num_heads = 4 : i64, num_kv_heads = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 1>}>
      : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}

// -----

func.func @cache_needs_positions(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>) {
  // expected-error @+1 {{positions and the KV cache go together: a cache needs positions and positions need a cache}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}

// -----

func.func @positions_need_cache(%q: tensor<?x1x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{positions and the KV cache go together}}
  %o = kiln.attention %q, %q, %q positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?xi64>) -> tensor<?x1x4x8xf32>
  return
}

// -----

func.func @k_cache_rank(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x32xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{k_cache must have rank 4 ([batch, capacity, kv_heads, head_dim]), got [?, 64, 32]}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>)
  return
}

// -----

func.func @k_cache_heads(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x2x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{k_cache has shape [?, 64, 2, 8] but expected [?, ?, 4, 8] (batch of the query, kv_heads, head_dim)}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x2x8xf32>, tensor<?x64x2x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x2x8xf32>, tensor<?x64x2x8xf32>)
  return
}

// -----

func.func @v_cache_capacity(%q: tensor<?x1x4x8xf32>, %kc: tensor<?x64x4x8xf32>, %vc: tensor<?x32x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{v_cache has shape [?, 32, 4, 8] but expected [?, 64, 4, 8] (k_cache with the value's head_dim)}}
  %o:3 = kiln.attention %q, %q, %q cache(%kc, %vc) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x32x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x32x4x8xf32>)
  return
}

// -----

func.func @positions_shape(%q: tensor<2x1x4x8xf32>, %c: tensor<2x64x4x8xf32>, %p: tensor<3xi64>) {
  // expected-error @+1 {{positions has shape [3] but expected [2] (one start position per sequence)}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<2x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<2x64x4x8xf32>, tensor<2x64x4x8xf32>, tensor<3xi64>) -> (tensor<2x1x4x8xf32>, tensor<2x64x4x8xf32>, tensor<2x64x4x8xf32>)
  return
}

// -----

func.func @cache_element_type(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf16>, %p: tensor<?xi64>) {
  // expected-error @+1 {{k_cache has element type 'f16' but expected 'f32' (that of query)}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf16>, tensor<?x64x4x8xf16>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf16>, tensor<?x64x4x8xf16>)
  return
}

// -----

func.func @cache_results(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{with a KV cache returns the output and the two updated caches, got 1 results}}
  %o = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> tensor<?x1x4x8xf32>
  return
}

// -----

func.func @cache_result_types(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{updated caches must have the caches' types}}
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x65x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}

// -----

func.func @results_without_cache(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{returns only the output without a KV cache, got 2 results}}
  %o:2 = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
  return
}

// -----

func.func @padding_needs_key_mask(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{mask <padding> needs a key_mask operand}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <padding> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @key_mask_shape(%q: tensor<?x7x4x8xf32>, %m: tensor<?x9xi64>) {
  // expected-error @+1 {{key_mask has shape [?, 9] but expected [?, 7] ([batch, kv_len])}}
  %o = kiln.attention %q, %q, %q key_mask %m heads 4 kv_heads 4 mask <padding> : (tensor<?x7x4x8xf32>, tensor<?x7x4x8xf32>, tensor<?x7x4x8xf32>, tensor<?x9xi64>) -> tensor<?x7x4x8xf32>
  return
}

// -----

func.func @key_mask_cache_capacity(%q: tensor<?x1x4x8xf32>, %c: tensor<?x64x4x8xf32>, %p: tensor<?xi64>, %m: tensor<?x1xi64>) {
  // expected-error @+1 {{key_mask has shape [?, 1] but expected [?, 64] ([batch, cache capacity])}}
  %o:3 = kiln.attention %q, %q, %q key_mask %m cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1x4x8xf32>, tensor<?x1xi64>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?xi64>) -> (tensor<?x1x4x8xf32>, tensor<?x64x4x8xf32>, tensor<?x64x4x8xf32>)
  return
}
