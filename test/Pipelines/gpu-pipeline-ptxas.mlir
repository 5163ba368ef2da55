// REQUIRES: ptxas
// RUN: kiln-opt %s --kiln-gpu-pipeline="format=fatbin cuda-arch=sm_80 ptxas=%ptxas" | FileCheck %s --check-prefix=SM80
// RUN: kiln-opt %kiln_src_root/examples/bert_layer.mlir --kiln-gpu-pipeline="format=fatbin cuda-arch=sm_90 ptxas=%ptxas" | FileCheck %s --check-prefix=SM90

// ptxas and fatbinary accept the kernels: a linear + GELU (libdevice erf)
// for sm_80, every kernel of a BERT layer (matmuls, softmax, layer norms,
// masks) for sm_90; gpu-module-to-binary fails otherwise. Where ptxas is
// absent, lit reports this test UNSUPPORTED (it requires the ptxas feature).

// Each kernel is a fatbin (magic 0xBA55ED50) that ptxas built.
// SM80-LABEL: llvm.func @forward
// SM80-NOT: gpu.module
// SM80-COUNT-3: gpu.binary @forward_kernel{{.*}}chip = "sm_80"{{.*}}ISAToBinaryTimeInMs{{.*}}"P\EDU\BA
// SM90-LABEL: llvm.func @forward
// SM90-NOT: gpu.module
// SM90: gpu.binary @forward_kernel{{.*}}chip = "sm_90"{{.*}}ISAToBinaryTimeInMs{{.*}}"P\EDU\BA
func.func @forward(%x: tensor<?x?x16xf32>) -> tensor<?x?x32xf32> {
  %w = kiln.param "fc.weight" : tensor<32x16xf32>
  %b = kiln.param "fc.bias" : tensor<32xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %z = kiln.activation <gelu> %y : tensor<?x?x32xf32>
  return %z : tensor<?x?x32xf32>
}
