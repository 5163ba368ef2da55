// A LLaMA-style decoder layer (pre-RMSNorm, RoPE, GQA with 4 query heads over
// 2 KV heads of 16, causal attention, SwiGLU FFN 160) in the kiln dialect.
// Weights are named as in Hugging Face's LlamaModel.
//
//   kiln-opt examples/llama_layer.mlir --kiln-lower-to-linalg

func.func @forward(%hidden: tensor<?x?x64xf32> {kiln.name = "hidden_states"},
                   %positions: tensor<?x?xi64> {kiln.name = "position_ids"})
    -> (tensor<?x?x64xf32> {kiln.name = "output"}) {
  %ln1 = kiln.param "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  %wq = kiln.param "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
  %wk = kiln.param "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
  %wv = kiln.param "model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
  %wo = kiln.param "model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
  %ln2 = kiln.param "model.layers.0.post_attention_layernorm.weight" : tensor<64xf32>
  %wg = kiln.param "model.layers.0.mlp.gate_proj.weight" : tensor<160x64xf32>
  %wu = kiln.param "model.layers.0.mlp.up_proj.weight" : tensor<160x64xf32>
  %wd = kiln.param "model.layers.0.mlp.down_proj.weight" : tensor<64x160xf32>

  %x = kiln.rms_norm %hidden weight %ln1 epsilon 1.0e-6 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %q0 = kiln.linear %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %k0 = kiln.linear %x, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %v0 = kiln.linear %x, %wv : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %q1 = kiln.split_heads %q0 heads 4 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k1 = kiln.split_heads %k0 heads 2 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v = kiln.split_heads %v0 heads 2 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %q = kiln.rope %q1 positions %positions theta 1.0e4 : (tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
  %k = kiln.rope %k1 positions %positions theta 1.0e4 : (tensor<?x?x2x16xf32>, tensor<?x?xi64>) -> tensor<?x?x2x16xf32>
  %a = kiln.attention %q, %k, %v heads 4 kv_heads 2 mask <causal>
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  %am = kiln.merge_heads %a : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  %ao = kiln.linear %am, %wo : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %h1 = kiln.add %hidden, %ao : tensor<?x?x64xf32>
  %y = kiln.rms_norm %h1 weight %ln2 epsilon 1.0e-6 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %f = kiln.ffn %y up %wu gate %wg down %wd activation <silu>
      : (tensor<?x?x64xf32>, tensor<160x64xf32>, tensor<160x64xf32>, tensor<64x160xf32>) -> tensor<?x?x64xf32>
  %out = kiln.add %h1, %f : tensor<?x?x64xf32>
  return %out : tensor<?x?x64xf32>
}
