// A BERT-style encoder layer (post-LN, GELU FFN, bidirectional attention with
// a padding mask) in the kiln dialect: hidden 64, 4 heads of 16, FFN 256.
// Weights are named as in Hugging Face's BertModel.
//
//   kiln-opt examples/bert_layer.mlir --kiln-lower-to-linalg

func.func @forward(%hidden: tensor<?x?x64xf32> {kiln.name = "hidden_states"},
                   %mask: tensor<?x?xi64> {kiln.name = "attention_mask"})
    -> (tensor<?x?x64xf32> {kiln.name = "last_hidden_state"}) {
  %wq = kiln.param "encoder.layer.0.attention.self.query.weight" : tensor<64x64xf32>
  %bq = kiln.param "encoder.layer.0.attention.self.query.bias" : tensor<64xf32>
  %wk = kiln.param "encoder.layer.0.attention.self.key.weight" : tensor<64x64xf32>
  %bk = kiln.param "encoder.layer.0.attention.self.key.bias" : tensor<64xf32>
  %wv = kiln.param "encoder.layer.0.attention.self.value.weight" : tensor<64x64xf32>
  %bv = kiln.param "encoder.layer.0.attention.self.value.bias" : tensor<64xf32>
  %wo = kiln.param "encoder.layer.0.attention.output.dense.weight" : tensor<64x64xf32>
  %bo = kiln.param "encoder.layer.0.attention.output.dense.bias" : tensor<64xf32>
  %g1 = kiln.param "encoder.layer.0.attention.output.LayerNorm.weight" : tensor<64xf32>
  %b1 = kiln.param "encoder.layer.0.attention.output.LayerNorm.bias" : tensor<64xf32>
  %wi = kiln.param "encoder.layer.0.intermediate.dense.weight" : tensor<256x64xf32>
  %bi = kiln.param "encoder.layer.0.intermediate.dense.bias" : tensor<256xf32>
  %wd = kiln.param "encoder.layer.0.output.dense.weight" : tensor<64x256xf32>
  %bd = kiln.param "encoder.layer.0.output.dense.bias" : tensor<64xf32>
  %g2 = kiln.param "encoder.layer.0.output.LayerNorm.weight" : tensor<64xf32>
  %b2 = kiln.param "encoder.layer.0.output.LayerNorm.bias" : tensor<64xf32>

  %q0 = kiln.linear %hidden, %wq bias %bq : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %k0 = kiln.linear %hidden, %wk bias %bk : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %v0 = kiln.linear %hidden, %wv bias %bv : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %q = kiln.split_heads %q0 heads 4 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k = kiln.split_heads %k0 heads 4 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %v = kiln.split_heads %v0 heads 4 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %a = kiln.attention %q, %k, %v key_mask %mask heads 4 kv_heads 4 mask <padding>
      : (tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
  %am = kiln.merge_heads %a : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  %ao = kiln.linear %am, %wo bias %bo : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %r1 = kiln.add %ao, %hidden : tensor<?x?x64xf32>
  %h1 = kiln.layer_norm %r1 weight %g1 bias %b1 epsilon 1.0e-12
      : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %f = kiln.ffn %h1 up %wi down %wd up_bias %bi down_bias %bd activation <gelu>
      : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %r2 = kiln.add %f, %h1 : tensor<?x?x64xf32>
  %out = kiln.layer_norm %r2 weight %g2 bias %b2 epsilon 1.0e-12
      : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %out : tensor<?x?x64xf32>
}
