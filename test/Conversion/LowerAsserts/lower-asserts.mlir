// RUN: kiln-opt %s --kiln-lower-asserts | FileCheck %s

// Each failing cf.assert calls kiln_support_fail("%s", message) and never
// returns; the format string is shared, each message has its own global.

// CHECK-DAG: llvm.mlir.global internal constant @kiln_assert_format("%s\00")
// CHECK-DAG: llvm.mlir.global internal constant @kiln_assert_message("lengths must be positive\00")
// CHECK-DAG: llvm.mlir.global internal constant @kiln_assert_message_0("100% sure\00")
// CHECK-DAG: llvm.func @kiln_support_fail(!llvm.ptr, ...)

// CHECK-LABEL: func.func @two_checks
// CHECK-SAME: (%[[A:.*]]: i1, %[[B:.*]]: i1)
// CHECK:   cf.cond_br %[[A]], ^[[OK:.*]], ^[[FAIL:.*]]
// CHECK: ^[[FAIL]]:
// CHECK:   %[[FORMAT:.*]] = llvm.mlir.addressof @kiln_assert_format : !llvm.ptr
// CHECK:   %[[MESSAGE:.*]] = llvm.mlir.addressof @kiln_assert_message : !llvm.ptr
// CHECK:   llvm.call @kiln_support_fail(%[[FORMAT]], %[[MESSAGE]]) vararg(!llvm.func<void (ptr, ...)>)
// CHECK:   llvm.unreachable
// CHECK: ^[[OK]]:
// CHECK:   %[[X:.*]] = arith.addi
// CHECK:   cf.cond_br %[[B]], ^[[OK2:.*]], ^[[FAIL2:.*]]
// CHECK: ^[[FAIL2]]:
// CHECK:   llvm.mlir.addressof @kiln_assert_format
// CHECK:   llvm.mlir.addressof @kiln_assert_message_0
// CHECK: ^[[OK2]]:
// CHECK:   return %[[X]]
// CHECK-NOT: cf.assert
func.func @two_checks(%a: i1, %b: i1) -> i32 {
  %c1 = arith.constant 1 : i32
  cf.assert %a, "lengths must be positive"
  %x = arith.addi %c1, %c1 : i32
  cf.assert %b, "100% sure"
  return %x : i32
}
