// RUN: kiln-opt %s --kiln-quantize="weights=int4 group=64" --split-input-file --verify-diagnostics
// RUN: not kiln-opt %s --kiln-quantize="weights=int3" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not kiln-opt %s --kiln-quantize="weights=int4 group=33" 2>&1 | FileCheck %s --check-prefix=ODD

// BITS: kiln-quantize: weights must be int8 or int4, got 'int3'
// ODD: kiln-quantize: group must be a positive even number (or 0 for the default), got 33

func.func @group(%x: tensor<?x96xf32>) -> tensor<?x16xf32> {
  %w = kiln.param "fc.weight" transposed : tensor<96x16xf32>
  // expected-error @+1 {{kiln-quantize: group 64 does not divide the 96 input features of weight 'fc.weight'}}
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x96xf32>, tensor<96x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
