//===- InitAll.h - Register everything kiln tools use -----------*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INITALL_H
#define KILN_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace kiln {

/// Adds the kiln dialect and every upstream dialect (with its interface
/// extensions) that Kiln's pipelines produce or consume.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers Kiln's passes and pipelines and the upstream passes they use,
/// so that kiln-opt can replay any pipeline stage by stage.
void registerAllPasses();

} // namespace kiln

#endif // KILN_INITALL_H
