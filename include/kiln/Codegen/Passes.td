//===- Passes.td - Code generation passes on linalg --------*- tablegen -*-===//
//
// Part of Kiln. Target-specific transformations of the linalg IR that
// kiln-lower-to-linalg produces.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_PASSES_TD
#define KILN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnCpuTileAndParallelize : Pass<"kiln-cpu-tile-and-parallelize",
                                     "func::FuncOp"> {
  let summary = "Split linalg ops into parallel row blocks; order loops "
                "for vectorization";
  let description = [{
    Tiles the outermost parallel dimension of every linalg op on tensors
    (that is not already inside an `scf.forall`) into an `scf.forall`, which
    the CPU pipeline turns into an OpenMP work-sharing loop, and fuses the
    `linalg.fill` that initializes a tile's accumulator into it, or the
    elementwise op whose only use is that initialization (a projection's
    broadcast bias plus residual, see kiln-fuse-epilogue), which then gets
    no loop of its own. Loops are
    reordered so that the innermost one walks the most operands along their
    last (contiguous) dimension, which LLVM's loop vectorizer can use:
    matmuls (generalized first) become (m, k, n), attention's P.V walks the
    head dim of V and of the output; a reduction left innermost (attention's
    Q.K over the head dim) gets `reassoc` arithmetic so that it vectorizes.

    Row blocks have `matmul-rows` rows for 2-D operands (the collapsed
    `[tokens, features]` of projections). For operands of rank 3 or more a
    block is one sequence, and when the second loop is parallel too it is
    split as well (`matmul-rows` positions of a dynamic dim, one of a static
    one such as heads), so that a batch of one still fills every core.

    A 2-D matmul that reads a weight (a `kiln.param`, dense or quantized)
    is split into column blocks as well: about `weight-column-blocks` of
    them, each a whole number of the register tile's weight panels (see
    `kiln-cpu-vectorize-matmul`), so that a decode step, one row, still
    streams the weight on every core.
    When the tile's width does not divide the weight's columns (GPT-2's
    vocabulary of 50257), the matmul is first split into two: the whole
    panels, cut into column blocks as above, and the columns of the
    partial last panel, cut into row blocks only. Each part fills its own
    slice of the accumulator, so the fills still fuse into the blocks.
  }];
  let options = [
    Option<"matmulRows", "matmul-rows", "int64_t", /*default=*/"32",
           "Rows of the output per parallel block of a 2-D op">,
    Option<"weightColumnBlocks", "weight-column-blocks", "int64_t",
           /*default=*/"8",
           "Column blocks per weight matmul (at most; 0 or 1: no split)">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def KilnCpuVectorizeMatmul : Pass<"kiln-cpu-vectorize-matmul",
                                  "func::FuncOp"> {
  let summary = "Register-tile and vectorize matmuls ordered (m, k, n)";
  let description = [{
    For every f32 matmul-like `linalg.generic` with loops (m, k, n) (as
    `kiln-cpu-tile-and-parallelize` leaves them) and a static `n`, emits a
    register-tiled microkernel in the vector dialect. The tile is
    `m_r x n_r` accumulators, the first of 4x24, 2x48, 4x16, 1x64, 1x32,
    1x16, 1x8 whose `n_r` divides `n`: twelve 8-lane accumulators keep both
    FMA pipes of an AVX2 core busy while leaving registers for the row of B
    and the broadcast of A. Every `m_r` divides the 32-row blocks of
    `kiln-cpu-tile-and-parallelize`: a 6x16 tile left two rows of each
    block to one-row tiles and ran 5-8% slower than 4x16 at N = 2048 and
    4096. Loops: column tiles, then groups of
    `m_r` rows (the last, partial group peeled off and done one row at a
    time), then `k`, which carries the accumulators as `vector<8xf32>`
    iter_args; each step of `k` loads one row of the B tile and, per row,
    broadcasts `A[m, k]` into `n_r / 8` `vector.fma`s.

    When B is a weight (a 2-D `kiln.param`), it is read as `panels n_r`,
    i.e. as `[n / n_r, k, n_r]` stored contiguously by kiln-compile, so
    that the kernel streams each panel instead of striding across rows of
    B; the output is written through a `[m, n / n_r, n_r]` view.

    A weight whose `N` is a multiple of no tile width (`N >= 8`) still gets
    a tile: the first at most `N` wide whose padding wastes at most `N / 8`
    columns (else the one that pads least), e.g. 4x24 for 50257 columns.
    Its panels are `[ceil(N / n_r), k, n_r]` (`columns N` on the param),
    the last one zero-padded by kiln-compile. The whole panels are tiled as above; the columns of the
    last panel (split off by `kiln-cpu-tile-and-parallelize`, or here) get
    the same register tiles over only the 8-lane pieces that hold some of
    them, reading the whole padded panel of B but reading and writing C
    (whose init may be a bias) with a masked (`in_bounds = false`)
    transfer for the piece that ends past `N`. Divisible `N` compile as
    before. B that is no weight keeps the divisible tiles only.

    A weight-only quantized matmul (the `kiln.quant` generic that the kiln
    lowering makes for a projection reading a `kiln.dequantize`) gets the
    same tiles, with its values, scales and zero points read as panels: per
    group of K the tile loads `n_r` scales and offsets, and each step of `k`
    loads `n_r` bytes, widens them to f32 (two rows per byte for int4) and
    dequantizes them with one `vector.fma` before the multiply-adds. The
    dequantized weight lives in registers only; no f32 weight matrix is
    stored. With a zero-padded last panel, that panel is peeled off the
    loop over panels and stores its valid columns only, as above.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def KilnCpuApproximateMath : Pass<"kiln-cpu-approximate-math",
                                  "func::FuncOp"> {
  let summary = "Replace erf, tanh, exp, log and log1p by polynomial "
                "approximations";
  let description = [{
    LLVM lowers `math.erf`, `math.tanh`, `math.exp`, `math.log` and
    `math.log1p` to scalar libm calls, which keep GELU, softmax, SiLU and
    Mamba's softplus out of vector code. This pass rewrites
    them (f32, scalar or vector) as MLIR's polynomial approximations, plain
    arithmetic that the loop vectorizer handles. Their error is within a few
    ulp of f32, far below Kiln's fp32 tolerance against PyTorch. sin/cos
    (rope) keep libm, whose range reduction stays exact for the large
    angles of late positions.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def KilnLowerContiguousExpandShape
    : Pass<"kiln-lower-contiguous-expand-shape", "func::FuncOp"> {
  let summary = "Rewrite memref.expand_shape of dense buffers as "
                "memref.reinterpret_cast";
  let description = [{
    Expanding a dense row-major buffer only reinterprets it: the result's
    strides are the row-major strides of `output_shape`. This pass says so
    with a `memref.reinterpret_cast`, for every `memref.expand_shape` whose
    source has the identity layout. Besides being simpler to lower, it keeps
    `expand-strided-metadata` away from expand_shape groups with two dynamic
    sizes (`[?] -> [?, ?]`, what a projection of a `[batch, seq, hidden]`
    activation produces), on which MLIR 22.1 crashes.

    ```mlir
    %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %s, 64]
        : memref<?x64xf32> into memref<?x?x64xf32>
    // becomes
    %e = memref.reinterpret_cast %m to offset: [0], sizes: [%b, %s, 64],
        strides: [%s * 64, 64, 1] : memref<?x64xf32> to memref<?x?x64xf32>
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def KilnGpuMatmulToMma : Pass<"kiln-gpu-matmul-to-mma", "ModuleOp"> {
  let summary = "Turn f16/bf16 matmuls on memrefs into tensor-core GPU kernels";
  let description = [{
    Replaces every `linalg.matmul` (B as [K, N], or as [N, K] through
    `indexing_maps`, as for kiln.linear's weights) and `linalg.batch_matmul` on
    memrefs whose A and B are both f16 or both bf16 and whose output is f32
    or the input type by a `gpu.launch_func` of a kernel in the
    `gpu.module @kiln_mma_kernels` that this pass adds (one kernel per
    layout, type and tile combination, shared by all matmuls that use it).

    The kernel computes a 128 x `block-n` block of C per 256-thread block
    with f32 accumulators: 8 warps in a 2x4 grid, 64 x (`block-n` / 4) per
    warp, as 16 (or 32) `nvvm.mma.sync` m16n8k16 per 16-wide step of K.
    Tiles of A and B, 32 wide in K, are copied into `stages` shared-memory
    buffers (workgroup attributions, XOR-swizzled so that `ldmatrix` is free
    of bank conflicts) by `nvgpu.device_async_copy` (`cp.async`, 16 bytes
    per copy), so that the copies for later tiles overlap the multiply of the
    current one; fragments are read by `nvgpu.ldmatrix` (`.trans` for a
    row-major [K, N] B). See docs/GPU-GEMM.md.
    The epilogue adds C's incoming values (a bias broadcast into C by
    kiln-lower-to-linalg, or zero) in f32 and rounds once to C's type.

    Shapes need not be multiples of the tile: copies past the edges of M, N
    or K zero-fill shared memory (`cp.async` with a source size of 0) and
    stores past M or N are skipped. A copy moves 8 elements, so K (and N for
    a row-major B) must be a multiple of 8 and the rows 16-byte aligned: a
    static shape that breaks this is left to the generic GPU path with a
    warning; a dynamic one is checked on the host with `cf.assert`.

    f32 matmuls are left alone on purpose (rounding them to bf16 or tf32
    changes results, so it is no silent default), as are other types.
  }];
  let options = [
    Option<"stages", "stages", "int64_t", /*default=*/"3",
           "Shared-memory buffers of the cp.async pipeline (at least 2; "
           "stages * (128 + block-n) * 64 bytes must fit in 48 KiB)">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"128",
           "Columns of C per block: 128 (warp tiles 64x32) or 256 (64x64, "
           "with stages=2)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def KilnGpuMapToKernels : Pass<"kiln-gpu-map-to-kernels", "func::FuncOp"> {
  let summary = "Map every linalg op on buffers to a GPU kernel (generic)";
  let description = [{
    The generic half of `kiln-gpu-pipeline`: after bufferization, every
    memory-touching op of a host function must run on the device, because
    every buffer the entry sees is a device pointer. This pass

    - rewrites `memref.copy` as `linalg.copy`, so that copies run as kernels;
    - lowers each linalg op to an `scf.parallel` over its parallel
      dimensions (reductions stay sequential `scf.for` loops inside), and
      wraps an op without parallel dimensions in a one-iteration loop;
    - collapses each such loop to one dimension, tiles it by `block-size`
      and marks the tile loop for blocks and the point loop for threads
      (x), ready for `convert-parallel-loops-to-gpu`. A thread computes
      one output element; nothing is shared or staged: correct and
      general, not fast.

    `memref.get_global` values used inside a loop are rematerialized in it
    (kernel outlining then copies the global into the GPU module). A scalar
    the host reads (a `memref.load` outside any loop, e.g. a KV-cache
    position) is fetched by a one-thread kernel and a `gpu.memcpy` to a
    host stack slot. Other memory accesses left on the host (stores, vector
    transfers) are errors: the host cannot dereference device memory.

    Tensor-core passes run before this one; linalg ops they already turned
    into `gpu.launch` or kernels are left alone.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of every generic kernel">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // KILN_CODEGEN_PASSES_TD
