#!/usr/bin/env python3
"""GPU check of the kiln-gpu-matmul-to-mma kernels against PyTorch.

Runs on a machine with an NVIDIA GPU, PyTorch and the CUDA driver, without
LLVM/MLIR: it loads the kernels that scripts/gpu-gemm-prepare compiled
(a cubin, or the PTX for the driver to JIT) through libcuda with ctypes,
launches them on torch tensors, compares with an fp32 torch.matmul of the
same f16/bf16 inputs and times them against torch.matmul (cuBLAS) with CUDA
events in the same run.

Tolerances (fp32 reference on the GPU, TF32 off): f32 output
|out - ref| <= 1e-3 * |ref| + 1e-4 * sqrt(K) (f32 accumulation in another
order); bf16/f16 output: relative 2^-7 (one rounding of the result)
+ the same absolute term.

Usage: gpu-check-gemm.py DIR   (DIR holds gemm.json and the kernel files)
Exit status 1 when a numeric check fails or no GPU is found.
"""
import ctypes
import json
import math
import os
import sys


def fail(msg):
    print(f"gpu-check-gemm: {msg}")
    sys.exit(1)


try:
    import torch
except ImportError:
    fail("SKIP: PyTorch is not installed")
if not torch.cuda.is_available():
    fail("SKIP: no CUDA device")

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


class Driver:
    """The few CUDA driver calls needed, from libcuda.so.1."""

    def __init__(self):
        self.lib = ctypes.CDLL("libcuda.so.1")
        self.check(self.lib.cuInit(0), "cuInit")

    def check(self, rc, what):
        if rc != 0:
            name = ctypes.c_char_p()
            self.lib.cuGetErrorName(rc, ctypes.byref(name))
            fail(f"{what} failed: {rc} {name.value}")

    def load(self, image):
        module = ctypes.c_void_p()
        buf = ctypes.create_string_buffer(image, len(image) + 1)
        self.check(self.lib.cuModuleLoadData(ctypes.byref(module), buf),
                   "cuModuleLoadData")
        return module

    def function(self, module, name):
        func = ctypes.c_void_p()
        self.check(self.lib.cuModuleGetFunction(ctypes.byref(func), module,
                                                name.encode()),
                   f"cuModuleGetFunction({name})")
        return func

    def launch(self, func, grid, block, params, stream):
        # Each memref is passed as its expanded descriptor: allocated and
        # aligned pointer, offset, sizes, strides (all 8 bytes wide).
        values = [ctypes.c_uint64(p) for p in params]
        ptrs = (ctypes.c_void_p * len(values))(
            *[ctypes.cast(ctypes.byref(v), ctypes.c_void_p) for v in values])
        self.check(
            self.lib.cuLaunchKernel(func, ctypes.c_uint(grid[0]),
                                    ctypes.c_uint(grid[1]),
                                    ctypes.c_uint(grid[2]),
                                    ctypes.c_uint(block[0]),
                                    ctypes.c_uint(block[1]),
                                    ctypes.c_uint(block[2]), ctypes.c_uint(0),
                                    ctypes.c_void_p(stream), ptrs, None),
            "cuLaunchKernel")


def descriptor(t):
    return [t.data_ptr(), t.data_ptr(), 0, *t.shape, *t.stride()]


DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


class Kernel:
    def __init__(self, drv, module, spec):
        self.drv = drv
        self.spec = spec
        self.func = drv.function(module, spec["name"])

    def __call__(self, a, b, c):
        s = self.spec
        m, n = c.shape[-2], c.shape[-1]
        batch = c.shape[0] if s["batched"] else 1
        grid = ((n + s["tile_n"] - 1) // s["tile_n"],
                (m + s["tile_m"] - 1) // s["tile_m"], batch)
        self.drv.launch(self.func, grid, (s["threads"], 1, 1),
                        descriptor(a) + descriptor(b) + descriptor(c),
                        torch.cuda.current_stream().cuda_stream)


def operands(spec, batch, m, n, k, bias):
    dt = DTYPES[spec["in"]]
    lead = (batch, ) if spec["batched"] else ()
    a = torch.randn(*lead, m, k, device="cuda").to(dt)
    b_shape = (*lead, n, k) if spec["transpose_b"] else (*lead, k, n)
    b = torch.randn(*b_shape, device="cuda").to(dt)
    out = DTYPES[spec["out"]]
    if bias:
        # kiln-lower-to-linalg broadcasts the bias into C before the matmul.
        bvec = torch.randn(n, device="cuda").to(out)
        c = bvec.expand(*lead, m, n).contiguous()
    else:
        c = torch.zeros(*lead, m, n, device="cuda", dtype=out)
    return a, b, c


def torch_product(spec, a, b):
    return a @ (b.transpose(-1, -2) if spec["transpose_b"] else b)


def check(kernel, batch, m, n, k, bias):
    spec = kernel.spec
    a, b, c = operands(spec, batch, m, n, k, bias)
    ref = torch_product(spec, a.float(), b.float()) + c.float()
    kernel(a, b, c)
    torch.cuda.synchronize()
    err = (c.float() - ref).abs()
    rel = 1e-3 if spec["out"] == "f32" else 2.0**-7
    bound = rel * ref.abs() + 1e-4 * math.sqrt(k)
    ok = bool((err <= bound).all()) and bool(torch.isfinite(c).all())
    shape = f"{batch}x" if spec["batched"] else ""
    print(f"  numerics {spec['name']:34s} {shape}{m}x{n}x{k} bias={int(bias)}"
          f" max|err|={err.max().item():.3e} max|ref|={ref.abs().max().item():.3e}"
          f" {'ok' if ok else 'FAIL'}")
    if not ok:
        # Where the errors are says which part of the kernel is wrong.
        bad = (err > bound).reshape(-1, m, n).any(0)
        rows, cols = bad.nonzero(as_tuple=True)
        print(f"    {bad.float().mean().item():.3f} of the outputs are off; "
              f"rows%16 {torch.bincount(rows % 16, minlength=16).tolist()} "
              f"cols%8 {torch.bincount(cols % 8, minlength=8).tolist()}")
        for i, j in list(zip(rows.tolist(), cols.tolist()))[:4]:
            print(f"    [{i},{j}] out {c.reshape(-1, m, n)[0, i, j].item():.4f}"
                  f" ref {ref.reshape(-1, m, n)[0, i, j].item():.4f}")
    return ok


def time_ms(fn, iters):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    return sorted(times)[len(times) // 2]


def bench(kernel, m, n, k):
    spec = kernel.spec
    a, b, c = operands(spec, 1, m, n, k, bias=False)
    bt = b.t() if spec["transpose_b"] else b  # a view: cuBLAS reads it as is
    iters = max(3, int(2e12 / (2 * m * n * k)))
    t_kiln = time_ms(lambda: kernel(a, b, c), iters)
    t_torch = time_ms(lambda: torch.matmul(a, bt), iters)
    flops = 2.0 * m * n * k
    tk, tt = flops / t_kiln / 1e9, flops / t_torch / 1e9
    print(f"  bench    {spec['name']:34s} {m}x{n}x{k}: kiln {t_kiln:.3f} ms "
          f"{tk:.1f} TFLOP/s, torch.matmul {t_torch:.3f} ms {tt:.1f} TFLOP/s,"
          f" kiln/cuBLAS = {tk / tt:.2f}")


def main():
    if len(sys.argv) != 2:
        fail(__doc__)
    root = sys.argv[1]
    meta = json.load(open(os.path.join(root, "gemm.json")))
    drv = Driver()
    torch.cuda.init()
    torch.zeros(1, device="cuda")  # make torch's primary context current
    props = torch.cuda.get_device_properties(0)
    major, minor = props.major, props.minor
    print(f"gpu-check-gemm: {props.name}, sm_{major}{minor}, torch "
          f"{torch.__version__}, CUDA {torch.version.cuda}")
    modules = {}
    for image in sorted({s["image"] for s in meta["kernels"]}):
        # The cubin for this GPU, else the sm_80 PTX for the driver to JIT.
        for name in (f"{image}.sm_{major}{minor}.cubin", f"{image}.sm_80.ptx"):
            path = os.path.join(root, name)
            if os.path.exists(path):
                print(f"  loading {name}")
                modules[image] = drv.load(open(path, "rb").read())
                break
        else:
            fail(f"no cubin or PTX for {image} in {root}")
    kernels = {s["name"]: Kernel(drv, modules[s["image"]], s)
               for s in meta["kernels"]}

    torch.manual_seed(0)
    ok = True
    for case in meta["checks"]:
        ok &= check(kernels[case["kernel"]], *case["shape"], case["bias"])
    print("gpu-check-gemm: numerics " + ("ok" if ok else "FAILED"))
    for case in meta["bench"]:
        bench(kernels[case["kernel"]], *case["shape"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
