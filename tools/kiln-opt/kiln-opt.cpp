//===- kiln-opt.cpp - mlir-opt for the kiln dialect -----------------------===//
//
// Part of Kiln. Parses, verifies and transforms kiln IR with every upstream
// dialect and pass Kiln uses, plus Kiln's own passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "kiln/InitAll.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  kiln::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
