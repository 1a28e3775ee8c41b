//===- Passes.td - llmc's code generation transforms ---------*- tablegen -*-===//
//
// Transforms on the upstream dialects llmc lowers through (passes on the
// llm dialect itself live in Dialect/LLM/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TRANSFORMS_PASSES_TD
#define LLMC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseElementwise : Pass<"llmc-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers that use each "
                "element once";
  let description = [{
    Upstream elementwise fusion, restricted to producers whose every element
    is used by exactly one iteration of the consumer: the consumer's
    indexing map for the fused operand must use all of its loops. A
    normalization feeding a projection is not fused, since it would be
    recomputed for every output feature:

    ```
    %n = linalg.generic (b, s, k) { x / sqrt(ms + eps) * w }
    %y = linalg.generic (b, s, n, k) { acc + n[b, s, k] * W[n, k] }
      => unchanged (fusing would compute the sqrt N times per element)

    %a = linalg.generic (b, s, k) { silu(g) }
    %m = linalg.generic (b, s, k) { a * u }
      => %m = linalg.generic (b, s, k) { silu(g) * u }
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FillPerUse : Pass<"llmc-fill-per-use", "::mlir::func::FuncOp"> {
  let summary = "Give each use of a tensor linalg.fill a fill of its own";
  let description = [{
    CSE merges the identical zero fills that start the model's sums (every
    projection's accumulator), and one-shot bufferization then fills one
    buffer and copies it into each accumulator. With a fill per use (and an
    empty tensor per fill), each accumulator is filled in place, and a
    consumer can see that its output starts as a constant
    (`llmc-gpu-warp-reductions` starts its sums from it instead of loading
    it).

    ```
    %z = linalg.fill ins(%c0) outs(%e)
    %a = linalg.generic ... outs(%z)
    %b = linalg.generic ... outs(%z)
      => %z0 = linalg.fill ins(%c0) outs(%e0)
         %a = linalg.generic ... outs(%z0)
         %z1 = linalg.fill ins(%c0) outs(%e1)
         %b = linalg.generic ... outs(%z1)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SequentializeInnerParallel
    : Pass<"llmc-sequentialize-inner-parallel", "::mlir::func::FuncOp"> {
  let summary = "Turn scf.parallel loops nested in another scf.parallel "
                "into scf.for nests";
  let description = [{
    After `scf-parallel-loop-tiling`, the tile loop is parallel and each tile
    is one thread's work: its loops become sequential, so only the outer loop
    becomes an OpenMP worksharing loop and the tile body compiles like serial
    code (vectorized, invariants hoisted).

    ```
    scf.parallel (%i) = ... step 64 {
      scf.parallel (%j) = (%i) to ... { body }
    }
      => scf.parallel (%i) = ... step 64 {
           scf.for %j = %i to ... { body }
         }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def ReductionsInnermost
    : Pass<"llmc-reductions-innermost", "::mlir::func::FuncOp"> {
  let summary = "Interchange linalg.generic loops so that reduction "
                "dimensions come last";
  let description = [{
    `convert-linalg-to-parallel-loops` makes one scf.parallel of the
    parallel dimensions nested in scf.for loops of the reductions that come
    before them. On a GPU the scf.parallel becomes a kernel, so a reduction
    dimension first (the CPU order of a projection whose weight is stored
    `in x out`, reading each weight row once) would make the host launch
    one kernel per reduction step. After this pass, each generic's parallel
    dimensions come first and its reductions last, both in their former
    order, so each generic is one kernel whose threads reduce sequentially.

    ```
    linalg.generic {iterator_types = ["reduction", "parallel", "parallel"]}
        (k, m, n)
      => linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]}
        (m, n, k)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def GpuWarpReductions
    : Pass<"llmc-gpu-warp-reductions", "::mlir::ModuleOp"> {
  let summary = "Give each output of a reduction a warp of 32 threads";
  let description = [{
    A linalg.generic (on buffers) whose last loop is its only reduction and
    whose body sums (arith.addf) or maximizes (arith.maximumf) into the
    output becomes an scf.parallel over its parallel loops and a lane loop
    of 32: each lane reduces every 32nd element (consecutive lanes read
    consecutive elements, so a warp's loads coalesce), a butterfly of
    gpu.shuffle xor combines the 32 partial results, and lane 0 combines
    the total into the output. One thread per output would leave a decode
    step's projection (one row, a few thousand outputs, each a dot product
    of thousands) with too few threads to fill the GPU and uncoalesced
    weight reads. `llmc-gpu-map-parallel-loops` maps the lane loop (32
    iterations, innermost) to thread x, so a warp is one output.

    ```
    linalg.generic {iterator_types = ["parallel", "reduction"]}
        ins(%x, %w) outs(%y) { %p = mulf; %s = addf %out, %p }
      => scf.parallel (%n, %lane) = (0, 0) to (N, 32) {
           %part = scf.for %k = %lane to %K step 32 iter_args(%a = 0) {...}
           %t = butterfly of gpu.shuffle xor (16, 8, 4, 2, 1) and addf
           scf.if (%lane == 0) { y[n] = y[n] + %t }
         }
    ```

    The loop's dynamic dimensions go outermost and its static ones next
    to the lanes (a block's warps are outputs, not a decode step's single
    row). Where the static extents give few outputs (under 1024: k/v
    projections, a norm's or softmax's rows) 8 warps share an output, each
    reducing a slice, and combine their totals in shared memory (a
    workgroup `memref.alloca`) after a `gpu.barrier` (4 or 2 where the
    lanes' vector steps divide among those and not among 8); under 4096,
    2 warps (where each keeps 4 vector steps of a lane or more). A lane's loop
    takes up to 4 vector steps per iteration, their loads in flight
    together; the steps that remain follow the loop.
    Where the outputs are many (32768, checked on the host) and
    consecutive threads read consecutive elements, a thread per output
    sums in a loop instead.

    Other generics (several reductions, other combiners, 64-bit
    accumulators) are left to the one-thread-per-output mapping.

    With `tensor-cores`, an f16 or bf16 contraction into f32, y[batch, rows, n] +=
    x[batch, rows, k] * w[batch, n, k] (or w[k, n]), runs on tensor cores
    from 8 rows (16 with batch loops: attention), checked on the host:
    blocks of 8 warps for 64 x 64 outputs (`mma-block-rows`=128: 128 x 64),
    2 x 2 (2 x 4) `nvgpu.mma.sync` (m16n8k16) per warp and 16 steps of k on
    fragments read from shared memory (`nvgpu.ldmatrix` with `ldmatrix`,
    else 32-bit loads); the tiles reach shared memory with
    `nvgpu.device_async_copy` (4 stages of 32 steps, 3 for 128 rows) where k
    is both operands' last index and they are row-major (`async-copies`),
    else through registers (64 steps, the next tile's
    loads before the current tile's mma). n or k that 64 does not divide
    take warps of 16 x 16 outputs with fragments from global memory. With
    fewer rows (decode) it is the warp reduction above.

    With `wgmma` (sm_90a), block tiles that cp.async fills run on
    `nvvm.wgmma.mma_async` instead: the block's two warpgroups multiply
    from shared memory (m64n32k16 per warpgroup for 64 x 64 blocks,
    m64n64k16 for 128 x 64; `mma-block-cols`=128 or 256 makes blocks that
    many columns wide where they divide n, else half as many down to 64:
    m64n64k16 to m64n256k16), the tiles stored
    as 8 x 8 core matrices without padding and read through matrix
    descriptors (no swizzle), a proxy fence between the copies and the
    barrier, one wgmma group per tile waited for before the next.

    With `tma` (and `wgmma`), a projection's tiles (no batch loops; x its
    rows by k, w n by k) come by TMA instead: the host asks the runtime for
    a tensor map of each operand (a call of `__llmc_gpu_tensor_map`, which
    the LLVM lowering turns into the GPU table's tensor-map function), and
    in the kernel thread 0 issues each stage's two
    `nvvm.cp.async.bulk.tensor` on the stage's mbarrier (its bytes
    expected, one arrival a phase); every thread waits for the phase of its
    tile, then the barrier that frees the stage the next copies take. The
    stages lie in one buffer aligned to 1024 bytes, rows swizzled in spans
    of a stage's row (64 bytes for 32 steps, 128 for 64), which the wgmma
    descriptors name (LBO 16, 16 steps of k 32 bytes along the row). With
    `tma-producer` a ninth warp issues the copies (the loop marked
    `llmc.block_threads = 288`), each stage's second mbarrier telling it
    when the 8 consumer warps released the stage (lane 0 of each, once
    the wgmma group that read it completed); no block barrier per tile.

    With `mma-split-k`, a projection whose cp.async block tiles are fewer
    than the GPU's multiprocessors (a short prompt, a few decode rows; the
    count is the host library's global `__llmc_gpu_multiprocessors`, which
    the runtime sets, 132 until then) takes a grid of splits x tiles: each
    split's blocks run an equal share of k's stages (2 or more; splits
    enough for two blocks per multiprocessor, at most 8),
    store their f32 accumulators to a workspace, and the last block of a
    tile to arrive (an arrival counter per tile in a device global of the
    kernel's own, reset by that block) adds the splits' totals in their
    order (the same sums whichever block arrives last) and stores them as
    the unsplit kernel would. The host picks the splits from the row
    count; one split is the unsplit kernel.

    Each rewrite starts from its output's `linalg.fill` when the output is
    a fresh buffer only the fill wrote (no load), and runs the elementwise
    generic that follows and alone reads the output (bias, rounding to the
    element type) on each total, so the f32 buffer is never written. Loads
    and stores of row-major buffers with dynamic strides go through a
    one-dimensional view (LLVM then sees their offsets' alignment).

    With `fuse-siblings`, a reduction just before one whose fused consumer
    reads its output too (same loops, maps and operand types; a fresh
    filled buffer only that consumer reads: SwiGLU's gate beside the up
    projection) runs in the same warps as the other: inputs both read the
    same way are loaded once, and the consumer gets both totals. On tensor
    cores they stay two kernels.
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Run f16 and bf16 projections of at least 8 rows on tensor cores "
           "(sm_80+)">,
    Option<"asyncCopies", "async-copies", "bool", /*default=*/"true",
           "Copy the tensor-core tiles into shared memory with cp.async "
           "where both operands are row-major (else through registers)">,
    Option<"loadMatrices", "ldmatrix", "bool", /*default=*/"true",
           "Read the tensor-core fragments from shared memory with "
           "ldmatrix (else 32-bit loads)">,
    Option<"mmaStageSteps", "mma-stage-steps", "int64_t", /*default=*/"32",
           "Steps of k per cp.async stage of a tensor-core block tile: 32 "
           "or 64 (as many stages as 48 KiB hold, up to 4)">,
    Option<"fuseSiblings", "fuse-siblings", "bool", /*default=*/"true",
           "Compute a reduction that the fused consumer of another reads "
           "(SwiGLU's gate beside its up projection) in the same warps">,
    Option<"fuseNorms", "fuse-norms", "bool", /*default=*/"true",
           "With tensor-cores: a norm that only contractions read, as their "
           "x, runs only where they run on tensor cores; with fewer rows "
           "(decode) each of their warps recomputes it as it loads x">,
    Option<"mmaBlockRows", "mma-block-rows", "int64_t", /*default=*/"64",
           "Rows of a tensor-core block tile: 64 (warps of 32 x 16) or 128 "
           "(warps of 32 x 32)">,
    Option<"mmaStages", "mma-stages", "int64_t", /*default=*/"0",
           "Stages of the cp.async pipeline (0: as many as 48 KiB hold, up "
           "to 4); beyond 48 KiB the tiles take dynamic shared memory">,
    Option<"mmaBlockCols", "mma-block-cols", "int64_t", /*default=*/"64",
           "With wgmma: columns of a block tile where they divide n, 64, "
           "128 or 256 (else half as many, down to 64)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Run the block tiles that cp.async fills on warpgroup matrix "
           "multiplies (nvvm.wgmma.mma_async, sm_90a) instead of mma.sync">,
    Option<"wgmmaInFlight", "wgmma-in-flight", "bool", /*default=*/"true",
           "With wgmma and 3 stages or more: keep a tile's wgmma group in "
           "flight while the next tile's barrier and copies run (the "
           "copies then run a stage less ahead)">,
    Option<"mmaSplitK", "mma-split-k", "bool", /*default=*/"false",
           "Split k across blocks where a projection's block tiles are "
           "fewer than the GPU's multiprocessors (the runtime says how "
           "many): the last block of "
           "each tile adds the partial totals (in the order of the splits) "
           "and stores them">,
    Option<"prefetchWeights", "prefetch-weights", "bool", /*default=*/"false",
           "Warp reductions that read weights (llm.param_buffer) let the "
           "next kernel launch, prefetch their weights to L2 and then wait "
           "for the kernel before (griddepcontrol; sm_90 with programmatic "
           "dependent launch)">,
    Option<"tma", "tma", "bool", /*default=*/"false",
           "With wgmma: the block tiles reach shared memory by TMA "
           "(cp.async.bulk.tensor into swizzled stages, an mbarrier per "
           "stage) instead of each thread's cp.async">,
    Option<"tmaProducer", "tma-producer", "bool", /*default=*/"false",
           "With tma: a ninth warp issues the copies, each stage reused "
           "once its consumers released it (an mbarrier per stage each "
           "way) instead of a block barrier per tile">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def GpuMapParallelLoops
    : Pass<"llmc-gpu-map-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile outermost scf.parallel loops into blocks of threads "
                "and map them to the GPU's grid";
  let description = [{
    Each scf.parallel loop that is not nested in another one (what
    `convert-linalg-to-parallel-loops` makes of a linalg op) has its outer
    dimensions collapsed into one when it has more than three, then is tiled
    with `scf-parallel-loop-tiling`'s no-min-max-bounds form: the innermost
    dimensions take up to `threads` iterations per tile (innermost first;
    a loop's `llmc.block_threads` attribute gives its own number: a
    tensor-core kernel's producer warp makes 288), guarded by an scf.if
    where the extent is not a multiple. The intra-tile
    loop's dimensions, innermost first, map to thread x, y and z, so
    consecutive threads touch consecutive elements; the tile loop's,
    outermost first, to block x, y and z (x takes 2^31 - 1 blocks, y and z
    65535: the outer dimensions grow with the input). Dimensions of one
    iteration take no processor. `convert-parallel-loops-to-gpu` then makes
    one gpu.launch per loop nest.

    ```
    scf.parallel (%b, %s, %h) = (0, 0, 0) to (%B, %S, 64) step (1, 1, 1)
      => scf.parallel (%b, %s, %h0) = ... step (1, 4, 64) {   // blocks x, y, -
           scf.parallel (%i, %j, %k) = (0, 0, 0) to (1, 4, 64) // -, threads y, x
             { scf.if (in bounds) { body } }
         }
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "Threads per block">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

def GpuPrepareLaunches
    : Pass<"llmc-gpu-prepare-launches", "::mlir::ModuleOp"> {
  let summary = "Make host code reach device memory only through copies, "
                "and kernels read constants from device globals";
  let description = [{
    After `convert-parallel-loops-to-gpu`, every buffer lives in device
    memory, except host bookkeeping (buffers no kernel, runtime argument or
    weight aliases, such as the deallocation pass's alias checks), which
    moves to the stack. What remains on the host (index computations, loops
    over batch rows, reductions to a scalar) must not dereference device
    memory: a host
    memref.load becomes a gpu.memcpy of that element into a stack slot, a
    host memref.store a gpu.memcpy out of one. A memref.get_global used by a
    kernel is cloned into it, so `gpu-kernel-outlining` copies the global
    into the kernel module (device memory) instead of passing a host
    address. A memref.alloca in the workgroup address space inside a launch
    (a block's shared memory) becomes a workgroup attribution of the launch;
    where a launch's add up to more than the 48 KiB a kernel may declare,
    they become views (`memref.view`, 16-byte aligned offsets) of its
    dynamic shared memory (`gpu.dynamic_shared_memory`), the launch's
    dynamic size their sum.

    ```
    %v = memref.load %m[%i] : memref<?xi64>
      => %e = memref.subview %m[%i] [1] [1] : ... to memref<i64, strided<[], offset: ?>>
         %t = memref.alloca() : memref<i64>
         gpu.memcpy %t, %e : memref<i64>, memref<i64, strided<[], offset: ?>>
         %v = memref.load %t[] : memref<i64>
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GpuMergeKernelModules
    : Pass<"llmc-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Move the kernels of all gpu.modules into one";
  let description = [{
    `gpu-kernel-outlining` makes one gpu.module per kernel. One module per
    program compiles to one PTX file and one cubin, which the runtime loads
    once: the kernels move into `@llmc_kernels` (globals they share are
    kept once) and every gpu.launch_func is redirected there. Workgroup
    attributions get `llvm.align = 16` (16-byte shared-memory stores and
    cp.async destinations).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def GpuFusedAttention
    : Pass<"llmc-gpu-fused-attention", "::mlir::ModuleOp"> {
  let summary = "Attention in two kernels with an online softmax";
  let description = [{
    Every `llm.fused_attention` on buffers becomes two parallel loop nests
    (kernels after mapping), flash decoding: no scores in memory.

    1. Partial results: for each row, KV head, tile of 8 query rows (the
       group's heads and queries, row r = query * group + head) and split
       of the keys, a block of 8 warps, a warp per query row. The warp's
       query row, scaled, goes to shared memory; the warp steps through its
       split's visible keys 32 at a time, a lane per key: the lane's score
       (a dot product over the head dimension), the step's maximum
       (butterfly), the running maximum, the rescaled running sum and
       accumulator, and the values: each key's probability is shuffled to
       every lane, which adds it times its own dimensions of the key's
       value (lane, lane + 32, ...). The warp writes its accumulator, its
       maximum and its sum for the split.
    2. Combination: a warp per query row and head rescales each split's
       accumulator and sum by exp(m_split - m) and writes
       accumulator / sum in the element type. In the warp variant the
       last block to store its rows' splits does it (an arrival counter
       per row, tile and KV head in the device global
       `__llmc_attention_counters`, reset by that block): one launch; the
       tensor-core variant, or more tiles than counters, launches it, but
       for the tensor-core variant with one split (long prompts), whose
       kernel writes accumulator / sum itself. The
       counters are the module's, shared by its attention launches in
       stream order: two streams running one module at once would need
       a set each.

    The host picks the splits: enough blocks for the GPU (256) where the
    rows are few (a decode step), at least 32 keys each; one split where
    the rows fill the GPU (prefill). Keys past the causal limit (or before
    the sliding window) are never read.

    With `ldmatrix`, the tensor-core variant reads its key and value
    fragments from the shared tiles with ldmatrix (values transposed);
    beyond 64 dimensions per head its query fragments too, from a shared
    tile of the block's query rows written once (in registers they would
    take 32 more beside the 64 of the accumulators: spills at head_dim
    128).

    The tensor-core variant's key and value tiles hold `stages` steps of
    32 keys (as many as 96 KiB of shared memory hold beside its query
    tile): each step's keys and values are copied by cp.async (16 bytes a
    thread) `stages` - 1 steps ahead, a group per step; a step waits for
    its own group, then at a barrier for the block's, then issues the
    copies of the step `stages` - 1 further. Where the keys' or values'
    view starts off a multiple of 8 elements (checked once in the kernel)
    the copies are plain loads and stores into the same stages. With
    `stages=1` each step loads its tiles and waits for them.

    With `wgmma` (sm_90a; f16 or bf16, tiles in stages) a step's scores
    are one warpgroup matrix multiply per 16 dimensions (m64n32k16: a
    warpgroup's 64 query rows by the step's 32 keys) with both operands
    in shared memory: the block's query rows stored once into a tile, and
    the key tiles, in wgmma's layout without swizzling (8 x 8 core
    matrices of 16-byte rows, 128 bytes apart along the dimensions, head
    dimensions x 16 bytes apart along the rows), a proxy fence after each
    step's copies. The accumulators hold each warp's rows as mma.sync's
    did, so the masking and the online softmax are unchanged. O += P V is
    two m64nNk16 (N the value dimensions, up to 256; 16 keys each) with A
    = P from registers (each warp's mma.sync A fragments, inline PTX:
    MLIR 19's op takes A's descriptor only) and B = the step's value tile
    in the same layout, read n-major (wgmma's transposed B: 8 keys of 8
    contiguous dimensions per core matrix), the accumulators O's. With
    `overlap` too (3 stages or more) each step issues the next step's
    scores before its own softmax, as FlashAttention-3 does within a
    warpgroup: the next step's tiles are waited for one step earlier (the
    copies run stages - 2 steps ahead), the loop carries the scores, and
    one wait at the step's end completes both the next scores and P V.

    With `fuse-cache-update`, a decode step's queries' rotation and KV-cache
    write run in the warp variant's kernel: where the op's query buffer is
    written only by an elementwise generic before it (the rotation) and an
    scf.parallel before it over (row, new token, KV head, dimension)
    stores each row's new keys and values into the cache the op reads, at
    the row's position (llmc-gpu-parallel-copies' loop), both run only
    where the step is not one new token per row in the warp variant (they
    move into that branch); in the other, each warp computes its query's
    element through the rotation's body as it loads it, and the step of
    32 keys that holds a row's new position computes that key and value
    through the copy loop's body into the shared tiles, the block of the
    row's first tile of query rows also storing them into the cache. The
    cache and the positions are taken to be distinct buffers (as llmrt
    passes them). A decode step then has one launch fewer per layer.
  }];
  let options = [
    Option<"loadMatrices", "ldmatrix", "bool", /*default=*/"true",
           "Read the tensor-core variant's key and value fragments with "
           "ldmatrix (else 16-bit loads)">,
    Option<"combineInBlocks", "combine-in-blocks", "bool", /*default=*/"true",
           "The warp variant's last block of a tile combines the splits "
           "(else a kernel of its own)">,
    Option<"fuseCacheUpdate", "fuse-cache-update", "bool", /*default=*/"true",
           "At one new token per row, the queries' rotation and the KV-cache "
           "write run in the warp variant's kernel">,
    Option<"stages", "stages", "int64_t", /*default=*/"3",
           "Steps of 32 keys and values in the tensor-core variant's shared "
           "tiles: the copies (cp.async) run stages - 1 steps ahead of the "
           "multiplies (1: each step loads its tiles, then waits for them)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "The tensor-core variant's scores S = Q K^T and O += P V on "
           "wgmma.mma_async (sm_90a), the query, key and value tiles in its "
           "core-matrix layout, P from registers (with stages of 2 or "
           "more; else mma.sync)">,
    Option<"overlap", "overlap", "bool", /*default=*/"false",
           "With wgmma and 3 stages or more: a step issues the next step's "
           "scores before its own softmax, so that the tensor cores "
           "multiply while it runs (the next step's tiles are waited for "
           "one step earlier: the copies run stages - 2 steps ahead)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def GpuParallelCopies
    : Pass<"llmc-gpu-parallel-copies", "::mlir::func::FuncOp"> {
  let summary = "A loop of copies to data-dependent places as one parallel loop";
  let description = [{
    The KV-cache update on buffers is an scf.for over the batch whose
    iterations copy a sequence's new keys and values into views of the
    cache at its position (loaded in the loop): on a GPU, a kernel per
    sequence and a read of each position on the host. Where a loop from 0
    by 1 only computes views (pure ops, loads, subviews) and copies of one
    shape between them, each iteration writing its own part of every
    destination (an offset at the induction variable, of size 1), the
    destinations apart from each other (static ranges) and from everything
    the loop reads, it becomes one scf.parallel over the iterations and the
    copied elements, the views computed in it (a kernel reads the positions
    itself).

    Where a copied buffer's iteration slice is buffer[i, 0, ...] and an
    elementwise generic before the loop alone writes that buffer (all loops
    parallel, identity output map, the output not read; nothing between
    writes what it reads), the parallel loop computes the generic's element
    instead of loading it, and the generic and its buffer go: the keys'
    rotation writes straight into the cache.

    ```
    linalg.generic {rope} ins(%k, ...) outs(%rk)
    scf.for %b = 0 to %n {
      %p = memref.load %pos[%b]
      linalg.copy ins(subview %rk[%b, 0, 0, 0]) outs(subview %cache[0, %l, %b, %p, 0, 0])
      linalg.copy ins(subview %v[%b, 0, 0, 0]) outs(subview %cache[1, %l, %b, %p, 0, 0])
    }
      => scf.parallel (%b, %t, %h, %d) = (0, 0, 0, 0) to (%n, %T, H, D) {
           %p = memref.load %pos[%b]
           store rope(%k, ...)[%b, %t, %h, %d] into subview %cache[0, ...][%t, %h, %d]
           store %v[%b, %t, %h, %d] into subview %cache[1, ...][%t, %h, %d]
         }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def GpuFuseLaunches : Pass<"llmc-gpu-fuse-launches", "::mlir::func::FuncOp"> {
  let summary = "Run neighbouring independent launches as one kernel";
  let description = [{
    A decode step is hundreds of kernels of a few microseconds, each paying
    a launch on the host (3-4 us through the driver) and a ramp on the GPU.
    Two gpu.launch ops in one block, with only index arithmetic, views and
    allocations between them, become one launch when neither writes a
    buffer the other reads or writes (distinct allocations of the function
    are disjoint, and so are subviews of one buffer whose static ranges are
    apart in some dimension, as the KV cache's keys and values; the
    function's arguments may alias each other where their element types
    agree: llmc never views an allocation with two), both have a static
    block of the same thread count, and their shared memory fits in 48 KiB
    together. The fused launch has a 1-D grid of both grids' blocks and a
    1-D block: its first blocks run the first body, the rest the second,
    each with block and thread ids recovered from the linear ones (x
    fastest, so a warp holds the same threads as before). Every thread of
    a block takes the same branch, so barriers and shuffles stay valid.

    Before that, scf.if ops without results on the same condition (the host
    picking tensor cores or a warp per output for each of q, k and v by the
    row count) merge, the host code between them moved above the first, so
    that the three projections' launches become neighbours.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

def GpuDependentLaunches
    : Pass<"llmc-gpu-dependent-launches", "::mlir::ModuleOp"> {
  let summary = "Let each kernel start while the one before it finishes "
                "(sm_90 programmatic dependent launch)";
  let description = [{
    On sm_90 a kernel launched with programmatic stream serialization may
    start before the kernel ahead of it on the stream has finished, and
    `griddepcontrol.wait` holds its threads until that kernel has completed
    and its memory is visible. A decode step is hundreds of kernels of a few
    microseconds, each paying its launch and ramp in full; with this, a
    kernel's launch overlaps the end of the one before.

    Every kernel begins with `griddepcontrol.wait`, before it reads or
    writes global memory (the kernels depend on their predecessors' results
    and may overwrite buffers those still read). No kernel triggers its
    dependents early (`griddepcontrol.launch_dependents`): they launch as
    its blocks exit. Measured on an H100 (1.1B Llama, f16): triggering at
    each kernel's start gained the same in decode (1.2x) but lost 15% in
    prefill, where a GEMM's blocks launched early pile onto the few
    multiprocessors the kernel before leaves free; as blocks exit, prefill
    gains 1.08x. The module gets `llmc.gpu_dependent_launch`, which the
    artifact's manifest records: the runtime launches with the attribute
    only kernels compiled this way.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def GpuExternDynamicShared
    : Pass<"llmc-gpu-extern-dynamic-shared", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Declare the kernels' dynamic shared memory as PTX expects";
  let description = [{
    MLIR 19 lowers `gpu.dynamic_shared_memory` to an internal global of no
    elements in the shared address space, which NVPTX prints as a one-byte
    shared variable (`.shared .align 16 .b8 __dynamic_shmem__0;`), a static
    allocation that the kernel's accesses overrun. This pass makes such
    globals external declarations, which NVPTX prints as the dynamic shared
    memory a launch sizes: `.extern .shared .align 16 .b8
    __dynamic_shmem__0[];`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLMC_TRANSFORMS_PASSES_TD
