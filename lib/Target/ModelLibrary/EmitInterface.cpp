//===- EmitInterface.cpp - kiln_model_describe and entry wrappers ---------===//
//
// Part of Kiln. Emits, into the LLVM IR of a lowered module, the static
// tables of kiln_model_abi.h and one kiln_abi_entry_fn per entry point. A
// wrapper unpacks the kiln_abi_call into the expanded memref arguments of
// the lowered function and hands each result to kiln_support_copy_output;
// the unwinding and allocation logic lives in ModelSupport.c.
//
//===----------------------------------------------------------------------===//

#include "kiln/Runtime/kiln_model_abi.h"
#include "kiln/Target/ModelLibrary/ModelLibrary.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// LLVM types mirroring the structs of kiln_model_abi.h (natural C layout).
struct AbiTypes {
  explicit AbiTypes(llvm::LLVMContext &ctx)
      : ptr(llvm::PointerType::getUnqual(ctx)),
        i32(llvm::Type::getInt32Ty(ctx)), i64(llvm::Type::getInt64Ty(ctx)) {
    tensorDesc = llvm::StructType::create(ctx, {ptr, i32, i32, ptr, ptr},
                                          "kiln_abi_tensor_desc");
    weightDesc = llvm::StructType::create(ctx, {ptr, i32, i32, ptr, i64, i64},
                                          "kiln_abi_weight_desc");
    buffer =
        llvm::StructType::create(ctx, {ptr, i32, ptr, ptr}, "kiln_abi_buffer");
    call = llvm::StructType::create(
        ctx, {ptr, ptr, ptr, i32, ptr, ptr, ptr, i64}, "kiln_abi_call");
    entryDesc = llvm::StructType::create(ctx, {ptr, i32, ptr, i32, ptr, ptr},
                                         "kiln_abi_entry_desc");
    modelDesc = llvm::StructType::create(
        ctx, {i32, ptr, ptr, i64, i64, i32, ptr, i32, ptr, i32},
        "kiln_abi_model_desc");
  }
  llvm::PointerType *ptr;
  llvm::IntegerType *i32, *i64;
  llvm::StructType *tensorDesc, *weightDesc, *buffer, *call, *entryDesc,
      *modelDesc;
};

/// Builds the constant tables in `module`.
class TableBuilder {
public:
  TableBuilder(llvm::Module &module, const AbiTypes &types)
      : module(module), types(types) {}

  llvm::Constant *string(StringRef text) {
    auto *init = llvm::ConstantDataArray::getString(module.getContext(), text);
    auto *global = new llvm::GlobalVariable(
        module, init->getType(), /*isConstant=*/true,
        llvm::GlobalValue::PrivateLinkage, init, "kiln.str");
    global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return global;
  }

  /// A private constant array, or null for an empty one.
  llvm::Constant *array(llvm::Type *element, ArrayRef<llvm::Constant *> items,
                        StringRef name) {
    if (items.empty())
      return llvm::ConstantPointerNull::get(types.ptr);
    auto *type = llvm::ArrayType::get(element, items.size());
    return new llvm::GlobalVariable(
        module, type, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
        llvm::ConstantArray::get(type, items), name);
  }

  llvm::Constant *int64Array(ArrayRef<int64_t> values, StringRef name) {
    SmallVector<llvm::Constant *> items;
    for (int64_t value : values)
      items.push_back(llvm::ConstantInt::get(types.i64, value));
    return array(types.i64, items, name);
  }

  llvm::Constant *i32(int64_t value) {
    return llvm::ConstantInt::get(types.i32, value);
  }
  llvm::Constant *i64(uint64_t value) {
    return llvm::ConstantInt::get(types.i64, value);
  }

  llvm::Constant *tensorDescs(ArrayRef<TensorSignature> tensors) {
    SmallVector<llvm::Constant *> items;
    for (const TensorSignature &tensor : tensors) {
      SmallVector<llvm::Constant *> dimNames;
      for (const std::string &dim : tensor.dimNames)
        dimNames.push_back(dim.empty()
                               ? llvm::ConstantPointerNull::get(types.ptr)
                               : string(dim));
      items.push_back(llvm::ConstantStruct::get(
          types.tensorDesc,
          {string(tensor.name), i32(tensor.dtype), i32(tensor.dims.size()),
           int64Array(tensor.dims, "kiln.dims"),
           array(types.ptr, dimNames, "kiln.dim_names")}));
    }
    return array(types.tensorDesc, items, "kiln.tensors");
  }

private:
  llvm::Module &module;
  const AbiTypes &types;
};

/// Emits `kiln_body_<entry>(const kiln_abi_call *)`, which calls the lowered
/// function `impl` and copies its results out.
llvm::Function *emitBody(llvm::Module &module, const AbiTypes &types,
                         const EntrySignature &entry, llvm::Function *impl,
                         uint64_t weightsDataSize) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *voidType = llvm::Type::getVoidTy(ctx);
  auto *bodyType = llvm::FunctionType::get(voidType, {types.ptr}, false);
  auto *body =
      llvm::Function::Create(bodyType, llvm::GlobalValue::InternalLinkage,
                             "kiln_body_" + entry.name, module);
  llvm::FunctionCallee checkInput = module.getOrInsertFunction(
      "kiln_support_check_input", voidType, types.i32);
  llvm::FunctionCallee copyOutput = module.getOrInsertFunction(
      "kiln_support_copy_output", voidType, types.i32, types.ptr, types.ptr,
      types.i64, types.i32, types.ptr, types.i64);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", body));
  llvm::Value *call = body->getArg(0);
  auto field = [&](llvm::StructType *type, llvm::Value *base, unsigned index,
                   llvm::Type *valueType) {
    return b.CreateLoad(valueType, b.CreateStructGEP(type, base, index));
  };

  // Weights: memref<?xi8> = (allocated, aligned, offset, size, stride).
  llvm::Value *weights = field(types.call, call, 0, types.ptr);
  SmallVector<llvm::Value *> args = {weights, weights, b.getInt64(0),
                                     b.getInt64(weightsDataSize),
                                     b.getInt64(1)};
  llvm::Value *inputs = field(types.call, call, 1, types.ptr);
  for (auto [index, input] : llvm::enumerate(entry.inputs)) {
    b.CreateCall(checkInput, {b.getInt32(index)});
    llvm::Value *buffer = b.CreateConstGEP1_64(types.buffer, inputs, index);
    llvm::Value *data = field(types.buffer, buffer, 0, types.ptr);
    llvm::Value *shape = field(types.buffer, buffer, 2, types.ptr);
    llvm::Value *strides = field(types.buffer, buffer, 3, types.ptr);
    args.append({data, data, b.getInt64(0)});
    for (unsigned d = 0; d < input.dims.size(); ++d)
      args.push_back(
          b.CreateLoad(types.i64, b.CreateConstGEP1_64(types.i64, shape, d)));
    for (unsigned d = 0; d < input.dims.size(); ++d)
      args.push_back(
          b.CreateLoad(types.i64, b.CreateConstGEP1_64(types.i64, strides, d)));
  }
  llvm::Value *result = b.CreateCall(impl, args);

  for (auto [index, output] : llvm::enumerate(entry.outputs)) {
    llvm::Value *desc =
        entry.outputs.size() == 1
            ? result
            : b.CreateExtractValue(result, static_cast<unsigned>(index));
    unsigned rank = output.dims.size();
    llvm::Value *sizes = llvm::ConstantPointerNull::get(types.ptr);
    if (rank > 0) {
      sizes = b.CreateAlloca(llvm::ArrayType::get(types.i64, rank));
      for (unsigned d = 0; d < rank; ++d)
        b.CreateStore(b.CreateExtractValue(desc, {3u, d}),
                      b.CreateConstGEP2_64(
                          llvm::ArrayType::get(types.i64, rank), sizes, 0, d));
    }
    b.CreateCall(copyOutput,
                 {b.getInt32(index), b.CreateExtractValue(desc, 0),
                  b.CreateExtractValue(desc, 1), b.CreateExtractValue(desc, 2),
                  b.getInt32(rank), sizes, b.getInt64(output.elementBytes)});
  }
  b.CreateRetVoid();
  return body;
}

} // namespace

llvm::Error mlir::kiln::emitModelInterface(llvm::Module &module,
                                           ArrayRef<EntrySignature> entries,
                                           ArrayRef<PlannedWeight> weights,
                                           const WeightsFileInfo &weightsFile,
                                           int32_t device) {
  llvm::LLVMContext &ctx = module.getContext();
  AbiTypes types(ctx);
  TableBuilder tables(module, types);
  llvm::FunctionCallee invoke = module.getOrInsertFunction(
      "kiln_support_invoke", types.i32, types.ptr, types.ptr);

  SmallVector<llvm::Constant *> entryDescs;
  for (const EntrySignature &entry : entries) {
    llvm::Function *impl = module.getFunction(entry.name);
    if (!impl)
      return llvm::createStringError("lowered module lacks entry point '" +
                                     entry.name + "'");
    impl->setLinkage(llvm::GlobalValue::InternalLinkage);
    // Results are descriptor structs; more than one come as a struct of them.
    unsigned numResults = impl->getReturnType()->isVoidTy() ? 0
                          : entry.outputs.size() == 1
                              ? 1
                              : impl->getReturnType()->getStructNumElements();
    if (numResults != entry.outputs.size())
      return llvm::createStringError(
          "entry point '" + entry.name + "' lowered to " +
          std::to_string(numResults) + " results, expected " +
          std::to_string(entry.outputs.size()));
    llvm::Function *body =
        emitBody(module, types, entry, impl, weightsFile.dataSize);

    auto *wrapperType = llvm::FunctionType::get(types.i32, {types.ptr}, false);
    auto *wrapper =
        llvm::Function::Create(wrapperType, llvm::GlobalValue::InternalLinkage,
                               "kiln_entry_" + entry.name, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    b.CreateRet(b.CreateCall(invoke, {wrapper->getArg(0), body}));

    entryDescs.push_back(llvm::ConstantStruct::get(
        types.entryDesc,
        {tables.string(entry.name), tables.i32(entry.inputs.size()),
         tables.tensorDescs(entry.inputs), tables.i32(entry.outputs.size()),
         tables.tensorDescs(entry.outputs), wrapper}));
  }

  SmallVector<llvm::Constant *> weightDescs;
  for (const PlannedWeight &weight : weights)
    weightDescs.push_back(llvm::ConstantStruct::get(
        types.weightDesc,
        {tables.string(weight.name), tables.i32(weight.dtype),
         tables.i32(weight.shape.size()),
         tables.int64Array(weight.shape, "kiln.shape"),
         tables.i64(weight.offset), tables.i64(weight.nbytes)}));

  auto *modelDesc = new llvm::GlobalVariable(
      module, types.modelDesc, /*isConstant=*/true,
      llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantStruct::get(
          types.modelDesc,
          {tables.i32(KILN_MODEL_ABI_VERSION), tables.string(getKilnVersion()),
           tables.string(weightsFile.fileName),
           tables.i64(weightsFile.fileSize), tables.i64(weightsFile.headerHash),
           tables.i32(weights.size()),
           tables.array(types.weightDesc, weightDescs, "kiln.weights"),
           tables.i32(entries.size()),
           tables.array(types.entryDesc, entryDescs, "kiln.entries"),
           tables.i32(device)}),
      "kiln.model");

  auto *describe = llvm::Function::Create(
      llvm::FunctionType::get(types.ptr, {}, false),
      llvm::GlobalValue::ExternalLinkage, KILN_MODEL_DESCRIBE_SYMBOL, module);
  describe->setVisibility(llvm::GlobalValue::DefaultVisibility);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", describe));
  b.CreateRet(modelDesc);

  // Everything else stays inside model.so.
  for (llvm::Function &function : module)
    if (&function != describe && !function.isDeclaration() &&
        function.hasExternalLinkage())
      function.setVisibility(llvm::GlobalValue::HiddenVisibility);
  return llvm::Error::success();
}
