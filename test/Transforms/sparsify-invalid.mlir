// RUN: %python %S/Inputs/sparse_weights.py %t.safetensors
// RUN: not kiln-opt %s --kiln-sparsify="mode=dense weights=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not kiln-opt %s --kiln-sparsify="mode=block block=16 weights=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not kiln-opt %s --kiln-sparsify="mode=block min-sparsity=1.5 weights=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=MIN
// RUN: not kiln-opt %s --kiln-sparsify="mode=auto" 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
// RUN: not kiln-opt %s --kiln-sparsify="mode=auto weights=%t.missing" 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not kiln-opt %s --split-input-file --kiln-sparsify="mode=auto weights=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=LOOKUP

// MODE: error: kiln-sparsify: mode must be auto, 2:4, block or off, got 'dense'
// BLOCK: error: kiln-sparsify: block must be RxC with R, C >= 1 (such as 16x16), got '16'
// MIN: error: kiln-sparsify: min-sparsity must be in [0, 1], got 1.5
// NOWEIGHTS: error: kiln-sparsify: mode auto reads the weights' values; give weights=<checkpoint>
// NOFILE: error: kiln-sparsify: {{.*}}missing

func.func @f(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  // LOOKUP: :[[@LINE+1]]:8: error: 'kiln.param' op kiln-sparsify: weight 'nope.weight' is not in
  %w = kiln.param "nope.weight" : tensor<32x64xf32>
  %y = kiln.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @g(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  // LOOKUP: :[[@LINE+1]]:8: error: 'kiln.param' op kiln-sparsify: weight 'half.weight' has dtype I32; sparse forms need F32, F16 or BF16
  %w = kiln.param "half.weight" : tensor<32x64xf32>
  %y = kiln.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
