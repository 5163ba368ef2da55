//===- GpuMatmulToMma.cpp - Tensor-core GEMM kernels for matmuls ----------===//
//
// Part of Kiln. Implements kiln-gpu-matmul-to-mma: f16/bf16 matmuls on
// memrefs become launches of an mma.sync kernel with a cp.async pipeline.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNGPUMATMULTOMMA
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;

namespace {

// Tile sizes of the kernel. 8 warps as 2 (M) x 4 (N), each owning 64 x
// (block-n / 4) of the 128 x block-n block, i.e. 4 x (block-n / 32)
// accumulators of m16n8 (64 or 128 f32 per thread).
constexpr int64_t kTileM = 128;
constexpr int64_t kTileK = 32;
constexpr int64_t kWarpsM = 2;
constexpr int64_t kWarpsN = 4;
constexpr int64_t kThreads = 32 * kWarpsM * kWarpsN;
constexpr int64_t kWarpTileM = kTileM / kWarpsM; // 64
constexpr int64_t kMmaTilesM = kWarpTileM / 16;  // 4
/// Elements per cp.async (16 bytes of f16/bf16).
constexpr int64_t kChunk = 8;

/// What a matmul looks like to the kernel generator.
struct MatmulKind {
  bool batched = false;
  /// B is [N, K] (weights of kiln.linear) rather than [K, N].
  bool transposeB = false;
  Type inType;  // f16 or bf16
  Type outType; // f32 or inType
  /// Columns of C per block (128 or 256), from the pass option.
  int64_t tileN = 128;

  int64_t warpTileN() const { return tileN / kWarpsN; }
  int64_t mmaTilesN() const { return warpTileN() / 8; }
};

/// Classifies `op` by its indexing maps; failure for anything that is not a
/// plain (batch) matmul with an identity C map.
static FailureOr<MatmulKind> classify(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return failure();
  // The body must be a plain multiply-accumulate (no other arithmetic).
  if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp,
           linalg::MatmulTransposeBOp>(op.getOperation()))
    return failure();
  MatmulKind kind;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MLIRContext *ctx = op.getContext();
  unsigned numLoops = op.getNumLoops();
  if (numLoops != 3 && numLoops != 4)
    return failure();
  kind.batched = numLoops == 4;
  unsigned o = kind.batched ? 1 : 0;
  AffineExpr b = getAffineDimExpr(0, ctx);
  AffineExpr m = getAffineDimExpr(o + 0, ctx), n = getAffineDimExpr(o + 1, ctx),
             k = getAffineDimExpr(o + 2, ctx);
  auto mapOf = [&](ArrayRef<AffineExpr> exprs) {
    SmallVector<AffineExpr> all;
    if (kind.batched)
      all.push_back(b);
    llvm::append_range(all, exprs);
    return AffineMap::get(numLoops, 0, all, ctx);
  };
  if (maps[0] != mapOf({m, k}) || maps[2] != mapOf({m, n}))
    return failure();
  if (maps[1] == mapOf({n, k}))
    kind.transposeB = true;
  else if (maps[1] != mapOf({k, n}))
    return failure();

  auto elementType = [](Value v) {
    return cast<ShapedType>(v.getType()).getElementType();
  };
  kind.inType = elementType(op.getDpsInputs()[0]);
  kind.outType = elementType(op.getDpsInits()[0]);
  if (!isa<Float16Type, BFloat16Type>(kind.inType) ||
      elementType(op.getDpsInputs()[1]) != kind.inType)
    return failure();
  if (!kind.outType.isF32() && kind.outType != kind.inType)
    return failure();
  return kind;
}

/// The memref type the kernel takes for an operand: dynamic sizes and
/// strides except a unit innermost stride, which cp.async relies on.
static MemRefType kernelArgType(Type elementType, int64_t rank) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  strides.back() = 1;
  auto layout = StridedLayoutAttr::get(elementType.getContext(),
                                       ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elementType, layout);
}

static std::string kernelName(const MatmulKind &kind, int64_t stages) {
  auto typeName = [](Type t) -> std::string {
    if (t.isF32())
      return "f32";
    return isa<BFloat16Type>(t) ? "bf16" : "f16";
  };
  return llvm::formatv("kiln_mma_{0}{1}_{2}_{3}{5}_s{4}",
                       kind.batched ? "batch_" : "",
                       kind.transposeB ? "nt" : "nn", typeName(kind.inType),
                       typeName(kind.outType), stages,
                       kind.tileN == 128 ? ""
                                         : "_n" + std::to_string(kind.tileN))
      .str();
}

/// Builds the body of one GEMM kernel. Kept in one class so the index
/// arithmetic helpers can share the builder and the thread coordinates.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const MatmulKind &kind,
                int64_t stages)
      : b(b), loc(loc), kind(kind), stages(stages) {}

  void build(gpu::GPUFuncOp func);

private:
  Value cst(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, cst(y)) : x; }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, cst(y));
  }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, cst(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, cst(y));
  }
  Value xorI(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// Column (in elements) of 16-byte chunk `chunk` of shared-memory row
  /// `row`. Rows of 4 chunks (64 B, the [rows, K] tiles) XOR the chunk with
  /// bits 1-2 of the row, rows of 16 chunks (256 B, the [K, N] tile of a
  /// row-major B) with bits 0-2, so that the 8 rows one ldmatrix phase reads
  /// hit 8 different 16-byte bank groups.
  Value swizzledCol(Value row, Value chunk, int64_t chunksPerRow) {
    Value key = chunksPerRow == 4 ? rem(div(row, 2), 4) : rem(row, 8);
    return mul(xorI(chunk, key), kChunk);
  }

  /// Indices into a (maybe batched) global operand.
  SmallVector<Value> globalIndices(Value i, Value j) {
    if (kind.batched)
      return {batch, i, j};
    return {i, j};
  }

  /// Issues this thread's cp.async copies of k-tile `kTile` into `stage`.
  /// Returns their tokens.
  void loadTile(Value stage, Value kTile, SmallVectorImpl<Value> &tokens);
  /// Copies one [rows, cols] tile row-chunk per thread-iteration.
  void copyTile(Value src, Value dst, Value stage, Value rowBase,
                Value rowLimit, Value colBase, Value colLimit, int64_t rows,
                int64_t chunksPerRow, SmallVectorImpl<Value> &tokens);
  /// The 4 x (block-n / 32) mma.sync of one 16-wide k step on `stage`.
  void multiplyStep(Value stage, int64_t kk, SmallVectorImpl<Value> &acc);
  void epilogue(ArrayRef<Value> acc);

  OpBuilder &b;
  Location loc;
  const MatmulKind &kind;
  int64_t stages;

  Value a, bMat, c, smemA, smemB;
  Value batch, m, n, k, blockRow, blockCol, tid, lane, warpRow, warpCol;
};

void KernelBuilder::copyTile(Value src, Value dst, Value stage, Value rowBase,
                             Value rowLimit, Value colBase, Value colLimit,
                             int64_t rows, int64_t chunksPerRow,
                             SmallVectorImpl<Value> &tokens) {
  int64_t copies = rows * chunksPerRow / kThreads;
  Value zero = cst(0);
  for (int64_t i = 0; i < copies; ++i) {
    Value q = add(tid, i * kThreads);
    Value row = div(q, chunksPerRow);
    Value chunk = rem(q, chunksPerRow);
    Value gRow = add(rowBase, row);
    Value gCol = add(colBase, mul(chunk, kChunk));
    // Outside the operand: copy nothing and zero-fill, from a valid address.
    Value inside = andI(lt(gRow, rowLimit), lt(gCol, colLimit));
    Value srcElements = select(inside, cst(kChunk), zero);
    gRow = select(inside, gRow, zero);
    gCol = select(inside, gCol, zero);
    auto copy = nvgpu::DeviceAsyncCopyOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst,
        ValueRange{stage, row, swizzledCol(row, chunk, chunksPerRow)}, src,
        globalIndices(gRow, gCol), b.getIndexAttr(kChunk), srcElements,
        b.getUnitAttr());
    tokens.push_back(copy.getAsyncToken());
  }
}

void KernelBuilder::loadTile(Value stage, Value kTile,
                             SmallVectorImpl<Value> &tokens) {
  Value k0 = mul(kTile, kTileK);
  copyTile(a, smemA, stage, blockRow, m, k0, k, kTileM, kTileK / kChunk,
           tokens);
  if (kind.transposeB)
    copyTile(bMat, smemB, stage, blockCol, n, k0, k, kind.tileN,
             kTileK / kChunk, tokens);
  else
    copyTile(bMat, smemB, stage, k0, k, blockCol, n, kTileK,
             kind.tileN / kChunk, tokens);
}

void KernelBuilder::multiplyStep(Value stage, int64_t kk,
                                 SmallVectorImpl<Value> &acc) {
  MLIRContext *ctx = b.getContext();
  auto fragType = VectorType::get({4, 2}, kind.inType);
  bool isBf16 = isa<BFloat16Type>(kind.inType);
  // bf16 mma.sync takes its halves packed in i32 registers.
  auto operand = [&](Value frag, int64_t i) -> Value {
    Value v = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{i});
    if (isBf16)
      v = LLVM::BitcastOp::create(b, loc, b.getI32Type(), v);
    return v;
  };

  // A fragments: ldmatrix.x4 of a 16x16 block; lane l gives row l % 16 at
  // k chunk l / 16.
  SmallVector<SmallVector<Value, 4>> aFrags;
  Value laneRow = rem(lane, 16);
  Value laneChunk = add(div(lane, 16), kk * 2);
  for (int64_t mi = 0; mi < kMmaTilesM; ++mi) {
    Value row = add(add(mul(warpRow, kWarpTileM), mi * 16), laneRow);
    Value col = swizzledCol(row, laneChunk, kTileK / kChunk);
    Value frag = nvgpu::LdMatrixOp::create(b, loc, fragType, smemA,
                                           ValueRange{stage, row, col},
                                           /*transpose=*/false, /*numTiles=*/4);
    aFrags.push_back({operand(frag, 0), operand(frag, 1), operand(frag, 2),
                      operand(frag, 3)});
  }

  // B fragments of two n8 tiles per ldmatrix.x4: matrices (n0-7, k0-7),
  // (n0-7, k8-15), (n8-15, k0-7), (n8-15, k8-15).
  SmallVector<SmallVector<Value, 2>> bFrags;
  for (int64_t p = 0; p < kind.mmaTilesN() / 2; ++p) {
    Value frag;
    if (kind.transposeB) {
      // [N, K] tile: lane l gives row n = 8 * (l / 16) + l % 8 at k chunk
      // (l / 8) % 2.
      Value row = add(add(mul(warpCol, kind.warpTileN()), p * 16),
                      add(mul(div(lane, 16), 8), rem(lane, 8)));
      Value chunk = add(rem(div(lane, 8), 2), kk * 2);
      Value col = swizzledCol(row, chunk, kTileK / kChunk);
      frag = nvgpu::LdMatrixOp::create(b, loc, fragType, smemB,
                                       ValueRange{stage, row, col},
                                       /*transpose=*/false, /*numTiles=*/4);
    } else {
      // [K, N] tile, transposed on load: lane l gives row
      // k = 8 * ((l / 8) % 2) + l % 8 at n chunk l / 16.
      Value row =
          add(add(mul(rem(div(lane, 8), 2), 8), rem(lane, 8)), kk * 16);
      Value chunk = add(add(mul(warpCol, kind.warpTileN() / kChunk), p * 2),
                        div(lane, 16));
      Value col = swizzledCol(row, chunk, kind.tileN / kChunk);
      frag = nvgpu::LdMatrixOp::create(b, loc, fragType, smemB,
                                       ValueRange{stage, row, col},
                                       /*transpose=*/true, /*numTiles=*/4);
    }
    bFrags.push_back({operand(frag, 0), operand(frag, 1)});
    bFrags.push_back({operand(frag, 2), operand(frag, 3)});
  }

  auto f32 = b.getF32Type();
  auto accType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  std::array<NVVM::MMATypes, 2> ptxTypes = {
      isBf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16,
      isBf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16};
  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row,
                                            NVVM::MMALayout::col};
  for (int64_t mi = 0; mi < kMmaTilesM; ++mi) {
    for (int64_t ni = 0; ni < kind.mmaTilesN(); ++ni) {
      Value &accStruct = acc[mi * kind.mmaTilesN() + ni];
      SmallVector<Value, 4> cValues;
      for (int64_t i = 0; i < 4; ++i)
        cValues.push_back(LLVM::ExtractValueOp::create(b, loc, accStruct, i));
      accStruct = NVVM::MmaOp::create(b, loc, accType, aFrags[mi], bFrags[ni],
                                      cValues, ArrayRef<int64_t>{16, 8, 16},
                                      std::nullopt, std::nullopt, ptxTypes,
                                      layouts);
    }
  }
}

void KernelBuilder::epilogue(ArrayRef<Value> acc) {
  // Accumulator i of an m16n8 tile is row l / 4 (+8 for i >= 2), column
  // 2 * (l % 4) + i % 2.
  Value rowInTile = div(lane, 4);
  Value colInTile = mul(rem(lane, 4), 2);
  for (int64_t mi = 0; mi < kMmaTilesM; ++mi) {
    for (int64_t ni = 0; ni < kind.mmaTilesN(); ++ni) {
      Value accStruct = acc[mi * kind.mmaTilesN() + ni];
      for (int64_t i = 0; i < 4; ++i) {
        Value row = add(add(blockRow, mul(warpRow, kWarpTileM)),
                        add(rowInTile, mi * 16 + (i >= 2 ? 8 : 0)));
        Value col = add(add(blockCol, mul(warpCol, kind.warpTileN())),
                        add(colInTile, ni * 8 + i % 2));
        Value value = LLVM::ExtractValueOp::create(b, loc, accStruct, i);
        auto guard = scf::IfOp::create(b, loc, andI(lt(row, m), lt(col, n)),
                                       /*withElseRegion=*/false);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(guard.thenBlock());
        SmallVector<Value> idx = globalIndices(row, col);
        Value old = memref::LoadOp::create(b, loc, c, idx);
        if (!kind.outType.isF32())
          old = arith::ExtFOp::create(b, loc, b.getF32Type(), old);
        Value sum = arith::AddFOp::create(b, loc, value, old);
        if (!kind.outType.isF32())
          sum = arith::TruncFOp::create(b, loc, kind.outType, sum);
        memref::StoreOp::create(b, loc, sum, c, idx);
      }
    }
  }
}

void KernelBuilder::build(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  a = func.getArgument(0);
  bMat = func.getArgument(1);
  c = func.getArgument(2);
  smemA = func.getWorkgroupAttributions()[0];
  smemB = func.getWorkgroupAttributions()[1];

  unsigned o = kind.batched ? 1 : 0;
  m = memref::DimOp::create(b, loc, a, o + 0);
  k = memref::DimOp::create(b, loc, a, o + 1);
  n = memref::DimOp::create(b, loc, c, o + 1);
  batch = kind.batched ? gpu::BlockIdOp::create(b, loc, gpu::Dimension::z)
                       : Value();
  blockRow = mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y), kTileM);
  blockCol = mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x), kind.tileN);
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = rem(tid, 32);
  Value warp = div(tid, 32);
  warpRow = div(warp, kWarpsN);
  warpCol = rem(warp, kWarpsN);

  // Prologue: tiles 0 .. stages-2 in flight, then wait for tile 0.
  Value kTiles = arith::CeilDivUIOp::create(b, loc, k, cst(kTileK));
  Value lastGroup;
  for (int64_t s = 0; s + 1 < stages; ++s) {
    SmallVector<Value> tokens;
    loadTile(cst(s), cst(s), tokens);
    lastGroup = nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  }
  nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup,
                                   b.getI32IntegerAttr(stages - 2));
  gpu::BarrierOp::create(b, loc);

  // Main loop: issue tile kt + stages - 1 (into the buffer tile kt - 1 used),
  // multiply tile kt, wait until tile kt + 1 has landed. The barrier at the
  // end both publishes tile kt + 1 and frees buffer kt for the next issue.
  auto f32 = b.getF32Type();
  auto accType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value zeroAcc = LLVM::ZeroOp::create(b, loc, accType);
  SmallVector<Value> init(kMmaTilesM * kind.mmaTilesN(), zeroAcc);
  auto loop = scf::ForOp::create(
      b, loc, cst(0), kTiles, cst(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange iterArgs) {
        SmallVector<Value> acc(iterArgs);
        Value next = add(kt, stages - 1);
        SmallVector<Value> tokens;
        loadTile(rem(next, stages), next, tokens);
        Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
            b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
        Value stage = rem(kt, stages);
        for (int64_t kk = 0; kk < kTileK / 16; ++kk)
          multiplyStep(stage, kk, acc);
        nvgpu::DeviceAsyncWaitOp::create(b, loc, group,
                                         b.getI32IntegerAttr(stages - 2));
        gpu::BarrierOp::create(b, loc);
        scf::YieldOp::create(b, loc, acc);
      });
  b.setInsertionPointAfter(loop);
  // The copies issued for tiles past K (zero fills) must land before exit.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup, b.getI32IntegerAttr(0));
  SmallVector<Value> acc(loop.getResults());
  epilogue(acc);
  gpu::ReturnOp::create(b, loc);
}

/// Returns the kernel for `kind`, creating it (and the gpu.module) once.
static gpu::GPUFuncOp getOrCreateKernel(ModuleOp module,
                                        const MatmulKind &kind,
                                        int64_t stages) {
  MLIRContext *ctx = module.getContext();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  constexpr StringLiteral moduleName = "kiln_mma_kernels";
  auto gpuModule = module.lookupSymbol<gpu::GPUModuleOp>(moduleName);
  OpBuilder b(ctx);
  Location loc = module.getLoc();
  if (!gpuModule) {
    b.setInsertionPointToEnd(module.getBody());
    gpuModule = gpu::GPUModuleOp::create(b, loc, moduleName);
  }
  std::string name = kernelName(kind, stages);
  if (auto func = gpuModule.lookupSymbol<gpu::GPUFuncOp>(name))
    return func;

  int64_t rank = kind.batched ? 3 : 2;
  Type argA = kernelArgType(kind.inType, rank);
  Type argC = kernelArgType(kind.outType, rank);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto smemType = [&](int64_t rows, int64_t cols) {
    return MemRefType::get({stages, rows, cols}, kind.inType,
                           MemRefLayoutAttrInterface(), workgroup);
  };
  Type smemA = smemType(kTileM, kTileK);
  Type smemB = kind.transposeB ? smemType(kind.tileN, kTileK)
                               : smemType(kTileK, kind.tileN);
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto func = gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType({argA, argA, argC}, {}),
      TypeRange{smemA, smemB});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({kThreads, 1, 1}));
  KernelBuilder(b, loc, kind, stages).build(func);
  return func;
}

/// Why a static shape cannot use the kernel, or the empty string.
static std::string staticShapeProblem(linalg::LinalgOp op,
                                      const MatmulKind &kind) {
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      return "operands are tensors (run it after bufferization)";
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1)
      return "an operand's innermost stride is not 1";
    // Rows of A and B are copied 8 elements at a time.
    if (operand.getOperandNumber() < 2) {
      int64_t cols = type.getShape().back();
      if (!ShapedType::isDynamic(cols) && cols % kChunk != 0)
        return llvm::formatv("{0} of {1} is not a multiple of {2}",
                             operand.getOperandNumber() == 0 ||
                                     kind.transposeB
                                 ? "K"
                                 : "N",
                             cols, kChunk)
            .str();
      int64_t rowStride = strides.size() >= 2 ? strides[strides.size() - 2] : 1;
      if (!ShapedType::isDynamic(rowStride) && rowStride % kChunk != 0)
        return "a row stride of A or B is not a multiple of 8 elements";
    }
  }
  return "";
}

struct KilnGpuMatmulToMmaPass
    : public kiln::impl::KilnGpuMatmulToMmaBase<KilnGpuMatmulToMmaPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Shared memory: `stages` k-tiles of A (128 rows) and B (block-n
    // rows), 2 bytes an element, in the 48 KiB a block gets statically.
    int64_t smemBytes = stages * (kTileM + blockN) * kTileK * 2;
    if ((blockN != 128 && blockN != 256) || stages < 2 ||
        smemBytes > 48 * 1024) {
      module.emitError() << "kiln-gpu-matmul-to-mma: stages="
                         << static_cast<int64_t>(stages)
                         << " block-n=" << static_cast<int64_t>(blockN)
                         << " is not supported (block-n is 128 or 256, "
                            "stages at least 2, and the buffers must fit in "
                            "48 KiB of static shared memory)";
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::LinalgOp, MatmulKind>> work;
    module.walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<gpu::GPUModuleOp>())
        return;
      FailureOr<MatmulKind> kind = classify(op);
      if (failed(kind))
        return;
      kind->tileN = blockN;
      std::string problem = staticShapeProblem(op, *kind);
      if (!problem.empty()) {
        op.emitWarning() << "kiln-gpu-matmul-to-mma: left to the generic "
                            "path: "
                         << problem;
        return;
      }
      work.push_back({op, *kind});
    });
    for (auto &[op, kind] : work)
      rewrite(module, op, kind);
  }

  void rewrite(ModuleOp module, linalg::LinalgOp op, const MatmulKind &kind) {
    gpu::GPUFuncOp kernel = getOrCreateKernel(module, kind, stages);
    OpBuilder b(op);
    Location loc = op.getLoc();
    int64_t rank = kind.batched ? 3 : 2;
    unsigned o = kind.batched ? 1 : 0;
    Value a = op.getDpsInputs()[0], bMat = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    auto cst = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v);
    };

    // Dynamic shapes: K (and N for a row-major B) and the row strides must
    // allow 16-byte copies; checked at run time where not known here.
    auto checkMultiple = [&](Value v, const char *what) {
      if (getConstantIntValue(v))
        return;
      Value ok = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, loc, v, cst(kChunk)), cst(0));
      cf::AssertOp::create(
          b, loc, ok,
          llvm::formatv("kiln-gpu-matmul-to-mma: {0} must be a multiple of 8",
                        what)
              .str());
    };
    Value k = b.createOrFold<memref::DimOp>(loc, a, o + 1);
    checkMultiple(k, "K");
    if (!kind.transposeB)
      checkMultiple(b.createOrFold<memref::DimOp>(loc, bMat, o + 1), "N");

    Type inArg = kernelArgType(kind.inType, rank);
    SmallVector<Value> args = {
        memref::CastOp::create(b, loc, inArg, a),
        memref::CastOp::create(b, loc, inArg, bMat),
        memref::CastOp::create(b, loc, kernelArgType(kind.outType, rank), c)};

    Value m = b.createOrFold<memref::DimOp>(loc, c, o + 0);
    Value n = b.createOrFold<memref::DimOp>(loc, c, o + 1);
    auto tiles = [&](Value size, int64_t tile) {
      return b.createOrFold<arith::CeilDivUIOp>(loc, size, cst(tile));
    };
    Value batch =
        kind.batched ? b.createOrFold<memref::DimOp>(loc, c, 0) : cst(1);
    gpu::KernelDim3 grid{tiles(n, kind.tileN), tiles(m, kTileM), batch};
    gpu::KernelDim3 block{cst(kThreads), cst(1), cst(1)};
    gpu::LaunchFuncOp::create(b, loc, kernel, grid, block,
                              /*dynamicSharedMemorySize=*/Value(), args);
    op->erase();
  }
};

} // namespace
