//===- GpuMapToKernels.cpp - Every linalg op on buffers to a GPU loop -----===//
//
// Part of Kiln. Implements kiln-gpu-map-to-kernels: the generic mapping of
// kiln-gpu-pipeline, which turns each linalg op into an scf.parallel marked
// for blocks and threads, for convert-parallel-loops-to-gpu.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNGPUMAPTOKERNELS
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// True when `op` is nested in an scf.parallel or already in device code.
bool isInsideParallel(Operation *op) {
  return op->getParentOfType<scf::ParallelOp>() ||
         op->getParentOfType<gpu::LaunchOp>() ||
         op->getParentOfType<gpu::GPUFuncOp>();
}

/// Lowers `op` to loops; one without parallel dims first gets wrapped in a
/// one-iteration scf.parallel so that it still runs on the device.
LogicalResult lowerLinalgOp(IRRewriter &rewriter, linalg::LinalgOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  if (op.getNumParallelLoops() == 0 && !isInsideParallel(op)) {
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto wrapper = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                           ValueRange{one}, ValueRange{one});
    rewriter.moveOpBefore(op, wrapper.getBody()->getTerminator());
    rewriter.setInsertionPoint(op);
  }
  if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
    return op->emitOpError("cannot be lowered to parallel loops for the GPU");
  rewriter.eraseOp(op);
  return success();
}

/// Clones each memref.get_global defined outside `loop` and used inside it
/// into the loop, so that the kernel reads the device copy of the global.
void rematerializeGlobals(IRRewriter &rewriter, scf::ParallelOp loop) {
  loop.walk([&](Operation *inner) {
    for (OpOperand &operand : inner->getOpOperands()) {
      auto global = operand.get().getDefiningOp<memref::GetGlobalOp>();
      if (!global || loop->isAncestor(global))
        continue;
      rewriter.setInsertionPointToStart(loop.getBody());
      operand.set(rewriter.clone(*global)->getResult(0));
    }
  });
}

/// A scalar the host needs (a cache position, a length) read from device
/// memory: a one-thread kernel copies it into a device scalar, which is
/// copied to a host stack slot (gpu.memcpy; mgpuMemcpy waits for it).
void fetchToHost(IRRewriter &rewriter, memref::LoadOp load) {
  MLIRContext *ctx = rewriter.getContext();
  Location loc = load.getLoc();
  rewriter.setInsertionPoint(load);
  auto scalarType = MemRefType::get({1}, load.getType());
  Value device = memref::AllocOp::create(rewriter, loc, scalarType);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto kernel = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
  rewriter.setInsertionPoint(kernel.getBody()->getTerminator());
  Value value = memref::LoadOp::create(rewriter, loc, load.getMemRef(),
                                       load.getIndices());
  memref::StoreOp::create(rewriter, loc, value, device,
                          ValueRange{kernel.getInductionVars()[0]});
  rewriter.setInsertionPointAfter(kernel);
  Value host = memref::AllocaOp::create(rewriter, loc, scalarType);
  Type token = gpu::AsyncTokenType::get(ctx);
  Value start =
      gpu::WaitOp::create(rewriter, loc, token, ValueRange{}).getAsyncToken();
  auto copy = gpu::MemcpyOp::create(rewriter, loc, token, ValueRange{start},
                                    host, device);
  gpu::WaitOp::create(rewriter, loc, Type(),
                      ValueRange{copy.getAsyncToken()});
  rewriter.replaceOp(load, memref::LoadOp::create(rewriter, loc, host,
                                                  ValueRange{zero}));
}

/// True for loads and stores of host stack slots (fetchToHost's).
bool onHostStack(Operation *op) {
  Value memref;
  if (auto load = dyn_cast<memref::LoadOp>(op))
    memref = load.getMemRef();
  else if (auto store = dyn_cast<memref::StoreOp>(op))
    memref = store.getMemRef();
  return memref && memref.getDefiningOp<memref::AllocaOp>();
}

struct GpuMapToKernelsPass
    : public kiln::impl::KilnGpuMapToKernelsBase<GpuMapToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    if (blockSize < 1 || blockSize > 1024) {
      func.emitError("kiln-gpu-map-to-kernels: block-size must be 1 to 1024");
      return signalPassFailure();
    }

    // Copies become linalg ops, so that they run as kernels too.
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!isInsideParallel(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      linalg::makeMemRefCopyOp(rewriter, copy.getLoc(), copy.getSource(),
                               copy.getTarget());
      rewriter.eraseOp(copy);
    }

    SmallVector<linalg::LinalgOp> linalgOps;
    func.walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        linalgOps.push_back(op);
    });
    for (linalg::LinalgOp op : linalgOps)
      if (failed(lowerLinalgOp(rewriter, op)))
        return signalPassFailure();

    // Scalars the host itself reads (linalg bodies are device code and are
    // loops by now).
    SmallVector<memref::LoadOp> hostLoads;
    func.walk([&](memref::LoadOp load) {
      if (!isInsideParallel(load) && !onHostStack(load))
        hostLoads.push_back(load);
    });
    for (memref::LoadOp load : hostLoads)
      fetchToHost(rewriter, load);

    // Outermost loops become kernels; nested ones run inside a thread.
    SmallVector<scf::ParallelOp> outermost;
    func.walk([&](scf::ParallelOp loop) {
      if (loop->hasAttr(gpu::getMappingAttrName()))
        return;
      if (!isInsideParallel(loop))
        outermost.push_back(loop);
    });
    auto identity = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto dimMap = [&](gpu::Processor processor) {
      return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                                  identity);
    };
    for (scf::ParallelOp loop : outermost) {
      rematerializeGlobals(rewriter, loop);
      // One dimension, innermost fastest, so neighbouring threads touch
      // neighbouring elements of row-major buffers.
      if (loop.getNumLoops() > 1) {
        std::vector<unsigned> all;
        for (unsigned d = 0; d < loop.getNumLoops(); ++d)
          all.push_back(d);
        // The collapsed loop is created in place of the old one: the last
        // scf.parallel before the op that followed it.
        Block *block = loop->getBlock();
        Block::iterator next = std::next(loop->getIterator());
        collapseParallelLoops(rewriter, loop, {all});
        scf::ParallelOp collapsed;
        for (auto it = next; it != block->begin() && !collapsed;)
          collapsed = dyn_cast<scf::ParallelOp>(*--it);
        if (!collapsed) {
          func.emitError("kiln-gpu-map-to-kernels: lost a collapsed loop");
          return signalPassFailure();
        }
        loop = collapsed;
      }
      auto [blocks, threads] =
          scf::tileParallelLoop(loop, {blockSize}, /*noMinMaxBounds=*/true);
      if (failed(gpu::setMappingAttr(blocks, {dimMap(gpu::Processor::BlockX)})) ||
          failed(gpu::setMappingAttr(threads,
                                     {dimMap(gpu::Processor::ThreadX)}))) {
        blocks.emitOpError("cannot be mapped to blocks and threads");
        return signalPassFailure();
      }
      threads.walk([&](scf::ParallelOp nested) {
        if (nested == threads)
          return;
        SmallVector<gpu::ParallelLoopDimMappingAttr> sequential(
            nested.getNumLoops(), dimMap(gpu::Processor::Sequential));
        (void)gpu::setMappingAttr(nested, sequential);
      });
    }

    // Whatever still touches memory on the host would dereference device
    // pointers there.
    WalkResult result = func.walk([&](Operation *op) {
      if (isInsideParallel(op) || onHostStack(op))
        return WalkResult::skip();
      if (isa<memref::LoadOp, memref::StoreOp, memref::AtomicRMWOp,
              memref::CopyOp, vector::TransferReadOp, vector::TransferWriteOp,
              vector::LoadOp, vector::StoreOp, scf::ForallOp>(op)) {
        op->emitError("'")
            << op->getName()
            << "' would access device memory on the host: kiln-gpu-pipeline "
               "does not support this on cuda yet";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
