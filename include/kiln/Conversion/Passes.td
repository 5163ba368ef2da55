//===- Passes.td - Conversions out of the kiln dialect -----*- tablegen -*-===//
//
// Part of Kiln. Lowerings from kiln ops to upstream dialects.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnLowerToLinalg : Pass<"kiln-lower-to-linalg", "func::FuncOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith, math and scf";
  let description = [{
    Rewrites every kiln op except `kiln.param` into upstream tensor-level
    IR: projections become `linalg.matmul`s on the collapsed leading dims,
    pointwise ops become `linalg.generic`s, and the ops with sequential or
    data-dependent structure (attention, selective scan, causal conv1d, the
    variable-length forms, pack/unpack) become explicit `scf` loops over
    `tensor` slices. `kiln.param` stays: it names a weight, and turning it
    into an argument is the job of the compile pipeline.

    Reductions (norms, attention scores and softmax, scan and conv sums)
    accumulate in f32 when the storage type is narrower. An embedding id
    outside `[0, vocab)` fails a `cf.assert` naming the table (the call ends
    with an execution error once `kiln-lower-asserts` has run), and the
    gather clamps ids into `[0, vocab)` as well; pack lengths are clamped
    into `[0, seq_len]`. Malformed inputs never read or write out of bounds.

    Attention has two lowerings. The reference one materializes the scores
    and handles every form. With `flash-attention` (the default), padded f32
    attention with head dims a multiple of 8, mask `none`, `causal`,
    `padding` or `sliding_window` and the standard softmax takes the fused
    kernel instead: FlashAttention-2's online softmax per query row, keys in
    blocks of 8, running max/sum and the output row in `vector<8xf32>`
    registers (no `[q_len, kv_len]` scores: O(head_dim) memory per row),
    the key loop bounded by the causal/window mask so that hidden blocks
    are skipped, `scf.forall` over (batch, head), GQA by indexing. For
    decode (at most 4 query rows against at least 256 keys, decided at run
    time when the lengths are dynamic) the kernel runs split-K instead:
    `scf.forall` over (batch, 16 key chunks), each task visiting its chunk
    for every head with the heads innermost, so that it streams whole key
    and value rows, and leaving a partial (max, sum, output) per row and
    head; a second `scf.forall` over (batch, head) merges the chunks with
    the online-softmax rescaling.
  }];
  let options = [
    Option<"flashAttention", "flash-attention", "bool", /*default=*/"true",
           "Lower eligible attentions to the fused online-softmax kernel">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def KilnLowerAsserts : Pass<"kiln-lower-asserts", "ModuleOp"> {
  let summary = "Turn a failing cf.assert into an execution error of the call";
  let description = [{
    Upstream lowers `cf.assert` to a message on stdout and `abort()`, which
    would take the caller's process down. In a compiled model a failed
    check must end the call instead: this pass rewrites each `cf.assert`
    into a `cf.cond_br` whose failing branch calls the model support
    library's `kiln_support_fail("%s", message)` and ends in
    `llvm.unreachable`. The hook unwinds to the entry wrapper, and the
    runtime returns `KILN_ERROR_EXECUTION` with the assert's message
    (`kiln_runtime.h`).

    Run it once the functions are in the LLVM dialect and before
    `convert-cf-to-llvm`. The asserts must sit outside OpenMP regions (the
    hook aborts on a worker thread, which has no call to end).

    ```mlir
    cf.assert %ok, "lengths must be positive"
    // becomes
    cf.cond_br %ok, ^continue, ^fail
    ^fail:
      %format = llvm.mlir.addressof @kiln_assert_format : !llvm.ptr
      %message = llvm.mlir.addressof @kiln_assert_message : !llvm.ptr
      llvm.call @kiln_support_fail(%format, %message) vararg(...) : ...
      llvm.unreachable
    ^continue:
    ```
  }];
  let dependentDialects = [
    "::mlir::cf::ControlFlowDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

#endif // KILN_CONVERSION_PASSES_TD
