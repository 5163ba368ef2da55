// RUN: kiln-opt %s --kiln-remove-padding --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-remove-padding=encoders-only --split-input-file \
// RUN:   | FileCheck %s --check-prefix=ENC

// A BERT layer with its embeddings: word + position + token type, the
// padding mask on the attention.

// CHECK-LABEL: func.func @bert
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<?x?xi64> {kiln.name = "input_ids"}
// CHECK-SAME: %[[MASK:[^:]*]]: tensor<?x?xi64> {kiln.name = "attention_mask"}
// CHECK-SAME: %[[TYPES:[^:]*]]: tensor<?x?xi64> {kiln.name = "token_type_ids"}
// Lengths and first/last real positions per row, then both sides checked.
// CHECK: %[[SEQ:.*]] = tensor.dim %[[MASK]], %c1
// CHECK: %[[STATS:.*]]:3 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[MASK]] : tensor<?x?xi64>)
// CHECK: %[[SIDES:.*]]:2 = linalg.generic {{.*}} ins(%[[STATS]]#0, %[[STATS]]#1, %[[STATS]]#2
// CHECK: %[[RIGHT:.*]] = tensor.extract %[[SIDES]]#0[]
// CHECK: %[[LEFT:.*]] = tensor.extract %[[SIDES]]#1[]
// CHECK: %[[OK:.*]] = arith.ori %[[RIGHT]], %[[LEFT]]
// CHECK: cf.assert %[[OK]], "kiln-remove-padding: every row of 'attention_mask' must be right-padded
// Each row's real tokens are rotated to its front (by seq - length when
// left-padded), then packed; the mask's packing gives cu_seqlens.
// CHECK: %[[MASKF:.*]] = tensor.generate
// CHECK:   %[[SHIFT:.*]] = arith.select %[[RIGHT]], %{{.*}}, %{{.*}} : index
// CHECK:   arith.remui
// CHECK:   tensor.extract %[[MASK]]
// CHECK: %{{.*}}, %[[CU:.*]] = kiln.pack %[[MASKF]] lengths %[[STATS]]#0 :
// CHECK: %[[IDSF:.*]] = tensor.generate
// CHECK: %[[PIDS:.*]], %{{.*}} = kiln.pack %[[IDSF]] lengths %[[STATS]]#0 :
// CHECK: %[[TYPESF:.*]] = tensor.generate
// CHECK: %[[PTYPES:.*]], %{{.*}} = kiln.pack %[[TYPESF]] lengths %[[STATS]]#0 :
// Everything from here runs on [tokens, ...].
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.embedding %{{.*}}[%[[PIDS]]] : tensor<100x32xf32>, tensor<?xi64> -> tensor<?x32xf32>
// Position ids are packed where they are made: tokens keep their positions
// (and the position embedding runs on real tokens only).
// CHECK: %[[POS:.*]] = tensor.generate
// CHECK: %[[POSF:.*]] = tensor.generate
// CHECK:   tensor.extract %[[POS]]
// CHECK: %[[PPOS:.*]], %{{.*}} = kiln.pack %[[POSF]] lengths
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.embedding %{{.*}}[%[[PPOS]]] : tensor<64x32xf32>, tensor<?xi64> -> tensor<?x32xf32>
// CHECK: kiln.embedding %{{.*}}[%[[PTYPES]]] : tensor<2x32xf32>, tensor<?xi64> -> tensor<?x32xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} cu_seqlens %[[CU]] heads 4 kv_heads 4 :
// CHECK-SAME: (tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?x4x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.ffn {{.*}} -> tensor<?x32xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: %[[LAST:.*]] = kiln.layer_norm {{.*}} -> tensor<?x32xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// Exit: unpacked with the side of the input; padding positions are zero.
// CHECK: %[[OUT:.*]] = scf.if %[[RIGHT]] -> (tensor<?x?x32xf32>) {
// CHECK:   kiln.unpack %[[LAST]] cu_seqlens %[[CU]] seq_len %[[SEQ]] :
// CHECK: } else {
// CHECK:   kiln.unpack %[[LAST]] cu_seqlens %[[CU]] seq_len %[[SEQ]] side <left>
// CHECK: }
// CHECK: return %[[OUT]]

// Encoders are rewritten with encoders-only too.
// ENC-LABEL: func.func @bert
// ENC: kiln.attention {{.*}} cu_seqlens

func.func @bert(%ids: tensor<?x?xi64> {kiln.name = "input_ids"},
                %mask: tensor<?x?xi64> {kiln.name = "attention_mask"},
                %types: tensor<?x?xi64> {kiln.name = "token_type_ids"})
    -> (tensor<?x?x32xf32> {kiln.name = "last_hidden_state"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %we = kiln.param "word" : tensor<100x32xf32>
  %pe = kiln.param "position" : tensor<64x32xf32>
  %te = kiln.param "type" : tensor<2x32xf32>
  %g = kiln.param "ln.weight" : tensor<32xf32>
  %bt = kiln.param "ln.bias" : tensor<32xf32>
  %wq = kiln.param "q" : tensor<32x32xf32>
  %wk = kiln.param "k" : tensor<32x32xf32>
  %wv = kiln.param "v" : tensor<32x32xf32>
  %wo = kiln.param "o" : tensor<32x32xf32>
  %wi = kiln.param "up" : tensor<64x32xf32>
  %wd = kiln.param "down" : tensor<32x64xf32>
  %w = kiln.embedding %we[%ids] : tensor<100x32xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %pos = tensor.generate %b, %s {
  ^bb0(%i: index, %j: index):
    %p = arith.index_cast %j : index to i64
    tensor.yield %p : i64
  } : tensor<?x?xi64>
  %p = kiln.embedding %pe[%pos] : tensor<64x32xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  %t = kiln.embedding %te[%types] : tensor<2x32xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  %e0 = kiln.add %w, %p : tensor<?x?x32xf32>
  %e1 = kiln.add %e0, %t : tensor<?x?x32xf32>
  %x = kiln.layer_norm %e1 weight %g bias %bt epsilon 1.0e-12 : (tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %q0 = kiln.linear %x, %wq : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %k0 = kiln.linear %x, %wk : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %v0 = kiln.linear %x, %wv : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %q = kiln.split_heads %q0 heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
  %k = kiln.split_heads %k0 heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
  %v = kiln.split_heads %v0 heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
  %a = kiln.attention %q, %k, %v key_mask %mask heads 4 kv_heads 4 mask <padding>
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  %am = kiln.merge_heads %a : tensor<?x?x4x8xf32> -> tensor<?x?x32xf32>
  %ao = kiln.linear %am, %wo : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %r1 = kiln.add %ao, %x : tensor<?x?x32xf32>
  %h1 = kiln.layer_norm %r1 weight %g bias %bt epsilon 1.0e-12 : (tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %f = kiln.ffn %h1 up %wi down %wd activation <gelu> : (tensor<?x?x32xf32>, tensor<64x32xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %r2 = kiln.add %f, %h1 : tensor<?x?x32xf32>
  %out = kiln.layer_norm %r2 weight %g bias %bt epsilon 1.0e-12 : (tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %out : tensor<?x?x32xf32>
}

// -----

// A LLaMA layer: RMSNorm, RoPE at the padded positions, causal GQA that
// also hides padded keys, SwiGLU, the LM head.

// CHECK-LABEL: func.func @llama
// CHECK-SAME: %[[MASK:[^:]*]]: tensor<?x?xi64> {kiln.name = "attention_mask"}
// CHECK: cf.assert
// CHECK: %{{.*}}, %[[CU:.*]] = kiln.pack
// CHECK: kiln.pack
// CHECK: %[[POS:.*]] = tensor.generate
// CHECK: %[[POSF:.*]] = tensor.generate
// CHECK:   tensor.extract %[[POS]]
// CHECK: %[[PPOS:.*]], %{{.*}} = kiln.pack %[[POSF]]
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.rope %{{.*}} positions %[[PPOS]] theta 1.000000e+04 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
// CHECK: kiln.rope %{{.*}} positions %[[PPOS]] theta 1.000000e+04 : (tensor<?x2x8xf32>, tensor<?xi64>) -> tensor<?x2x8xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} cu_seqlens %[[CU]] heads 4 kv_heads 2 mask <causal> :
// CHECK-SAME: -> tensor<?x4x8xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.ffn {{.*}} -> tensor<?x32xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: %[[LOGITS:.*]] = kiln.linear {{.*}} -> tensor<?x100xf32>
// CHECK: scf.if %{{.*}} -> (tensor<?x?x100xf32>)
// CHECK:   kiln.unpack %[[LOGITS]]

// Decoders mix tokens causally: encoders-only leaves them padded.
// ENC-LABEL: func.func @llama
// ENC-NOT: kiln.pack
// ENC: kiln.attention {{.*}} key_mask
// ENC-NOT: kiln.pack

func.func @llama(%ids: tensor<?x?xi64> {kiln.name = "input_ids"},
                 %mask: tensor<?x?xi64> {kiln.name = "attention_mask"})
    -> (tensor<?x?x100xf32> {kiln.name = "logits"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = kiln.param "embed" : tensor<100x32xf32>
  %n1 = kiln.param "n1" : tensor<32xf32>
  %n2 = kiln.param "n2" : tensor<32xf32>
  %wq = kiln.param "q" : tensor<32x32xf32>
  %wk = kiln.param "k" : tensor<16x32xf32>
  %wv = kiln.param "v" : tensor<16x32xf32>
  %wo = kiln.param "o" : tensor<32x32xf32>
  %wu = kiln.param "up" : tensor<48x32xf32>
  %wg = kiln.param "gate" : tensor<48x32xf32>
  %wd = kiln.param "down" : tensor<32x48xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %pos = tensor.generate %b, %s {
  ^bb0(%i: index, %j: index):
    %p = arith.index_cast %j : index to i64
    tensor.yield %p : i64
  } : tensor<?x?xi64>
  %x = kiln.embedding %emb[%ids] : tensor<100x32xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  %h = kiln.rms_norm %x weight %n1 epsilon 1.0e-6 : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %q0 = kiln.linear %h, %wq : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %k0 = kiln.linear %h, %wk : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
  %v0 = kiln.linear %h, %wv : (tensor<?x?x32xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
  %q1 = kiln.split_heads %q0 heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
  %k1 = kiln.split_heads %k0 heads 2 : tensor<?x?x16xf32> -> tensor<?x?x2x8xf32>
  %v = kiln.split_heads %v0 heads 2 : tensor<?x?x16xf32> -> tensor<?x?x2x8xf32>
  %q = kiln.rope %q1 positions %pos theta 1.0e4 : (tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  %k = kiln.rope %k1 positions %pos theta 1.0e4 : (tensor<?x?x2x8xf32>, tensor<?x?xi64>) -> tensor<?x?x2x8xf32>
  %a = kiln.attention %q, %k, %v key_mask %mask heads 4 kv_heads 2 mask <causal>
      : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  %am = kiln.merge_heads %a : tensor<?x?x4x8xf32> -> tensor<?x?x32xf32>
  %ao = kiln.linear %am, %wo : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %r1 = kiln.add %x, %ao : tensor<?x?x32xf32>
  %h2 = kiln.rms_norm %r1 weight %n2 epsilon 1.0e-6 : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %f = kiln.ffn %h2 up %wu gate %wg down %wd activation <silu> : (tensor<?x?x32xf32>, tensor<48x32xf32>, tensor<48x32xf32>, tensor<32x48xf32>) -> tensor<?x?x32xf32>
  %r2 = kiln.add %r1, %f : tensor<?x?x32xf32>
  %logits = kiln.linear %r2, %emb : (tensor<?x?x32xf32>, tensor<100x32xf32>) -> tensor<?x?x100xf32>
  return %logits : tensor<?x?x100xf32>
}

// -----

// A Mamba block as the Hugging Face importer builds it: the convolution's
// input and output masked by linalg.generics, conv and scan over the
// sequence, the feature dims sliced.

#tokens = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @mamba
// CHECK: %[[PMASK:.*]], %[[CU:.*]] = kiln.pack
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: %[[XZ:.*]] = kiln.linear {{.*}} -> tensor<?x32xf32>
// CHECK: %[[X:.*]] = tensor.extract_slice %[[XZ]][0, 0] [%{{.*}}, 16] [1, 1] : tensor<?x32xf32> to tensor<?x16xf32>
// CHECK: %[[Z:.*]] = tensor.extract_slice %[[XZ]][0, 16] [%{{.*}}, 16] [1, 1] : tensor<?x32xf32> to tensor<?x16xf32>
// The masks of the padded function multiply by ones now.
// CHECK: %[[XM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[PMASK]] : tensor<?x16xf32>, tensor<?xi64>) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK: %[[CONV:.*]] = kiln.causal_conv1d %[[XM]], %{{.*}} cu_seqlens %[[CU]] activation <silu> : {{.*}} -> tensor<?x16xf32>
// CHECK: %[[CM:.*]] = linalg.generic {{.*}} ins(%[[CONV]], %[[PMASK]]
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.selective_scan %[[CM]], {{.*}} z %[[Z]] {{.*}} cu_seqlens %[[CU]] dt_softplus
// CHECK-SAME: -> tensor<?x16xf32>
// CHECK-NOT: {{tensor<\?x\?x[0-9]}}
// CHECK: kiln.add {{.*}} : tensor<?x8xf32>
// CHECK: kiln.unpack

func.func @mamba(%ids: tensor<?x?xi64> {kiln.name = "input_ids"},
                 %mask: tensor<?x?xi64> {kiln.name = "attention_mask"})
    -> (tensor<?x?x8xf32> {kiln.name = "hidden_states"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %emb = kiln.param "embed" : tensor<100x8xf32>
  %norm = kiln.param "norm" : tensor<8xf32>
  %win = kiln.param "in_proj" : tensor<32x8xf32>
  %wconv = kiln.param "conv" : tensor<16x4xf32>
  %bconv = kiln.param "conv_bias" : tensor<16xf32>
  %wx = kiln.param "x_proj" : tensor<10x16xf32>
  %wdt = kiln.param "dt_proj" : tensor<16x2xf32>
  %bdt = kiln.param "dt_bias" : tensor<16xf32>
  %a = kiln.param "A" : tensor<16x4xf32>
  %d = kiln.param "D" : tensor<16xf32>
  %wout = kiln.param "out_proj" : tensor<8x16xf32>
  %x0 = kiln.embedding %emb[%ids] : tensor<100x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %n = kiln.rms_norm %x0 weight %norm epsilon 1.0e-5 : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %xz = kiln.linear %n, %win : (tensor<?x?x8xf32>, tensor<32x8xf32>) -> tensor<?x?x32xf32>
  %b = tensor.dim %xz, %c0 : tensor<?x?x32xf32>
  %s = tensor.dim %xz, %c1 : tensor<?x?x32xf32>
  %u = tensor.extract_slice %xz[0, 0, 0] [%b, %s, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %z = tensor.extract_slice %xz[0, 0, 16] [%b, %s, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %e0 = tensor.empty(%b, %s) : tensor<?x?x16xf32>
  %um = linalg.generic {indexing_maps = [#id, #tokens, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%u, %mask : tensor<?x?x16xf32>, tensor<?x?xi64>) outs(%e0 : tensor<?x?x16xf32>) {
  ^bb0(%in: f32, %m: i64, %out: f32):
    %c0_i64 = arith.constant 0 : i64
    %real = arith.cmpi ne, %m, %c0_i64 : i64
    %v = arith.select %real, %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<?x?x16xf32>
  %conv = kiln.causal_conv1d %um, %wconv bias %bconv activation <silu> : (tensor<?x?x16xf32>, tensor<16x4xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %e1 = tensor.empty(%b, %s) : tensor<?x?x16xf32>
  %cm = linalg.generic {indexing_maps = [#id, #tokens, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%conv, %mask : tensor<?x?x16xf32>, tensor<?x?xi64>) outs(%e1 : tensor<?x?x16xf32>) {
  ^bb0(%in: f32, %m: i64, %out: f32):
    %c0_i64 = arith.constant 0 : i64
    %real = arith.cmpi ne, %m, %c0_i64 : i64
    %v = arith.select %real, %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<?x?x16xf32>
  %params = kiln.linear %cm, %wx : (tensor<?x?x16xf32>, tensor<10x16xf32>) -> tensor<?x?x10xf32>
  %dtr = tensor.extract_slice %params[0, 0, 0] [%b, %s, 2] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x2xf32>
  %bm = tensor.extract_slice %params[0, 0, 2] [%b, %s, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
  %cmat = tensor.extract_slice %params[0, 0, 6] [%b, %s, 4] [1, 1, 1] : tensor<?x?x10xf32> to tensor<?x?x4xf32>
  %dt = kiln.linear %dtr, %wdt : (tensor<?x?x2xf32>, tensor<16x2xf32>) -> tensor<?x?x16xf32>
  %y = kiln.selective_scan %cm, %dt, %a, %bm, %cmat D %d z %z dt_bias %bdt dt_softplus
      : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<16x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<16xf32>, tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %out = kiln.linear %y, %wout : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  %r = kiln.add %x0, %out : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// Without an argument named attention_mask there is nothing to remove.

// CHECK-LABEL: func.func @no_mask
// CHECK-NOT: kiln.pack
// CHECK: kiln.activation
func.func @no_mask(%x: tensor<?x?x8xf32> {kiln.name = "hidden_states"}) -> tensor<?x?x8xf32> {
  %y = kiln.activation <silu> %x : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
