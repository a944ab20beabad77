package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;
import java.util.function.Supplier;

/**
 * A compute backend: allocates tensors on its device and runs the operations that the ViT and
 * CLIP forward and backward passes and the STAR-Prompt kernels need.
 *
 * <p>Every public method validates its arguments (null, closed, device, dtype, shapes, index
 * ranges) and throws {@link IllegalArgumentException} or {@link IllegalStateException} naming
 * the op and the shapes before any native call. Outputs are overwritten unless the method name
 * says "add". The public ops are final: implementations ({@code ReferenceBackend},
 * {@code CpuBackend}, {@code CudaBackend}) override only the protected {@code do*} methods, which
 * may assume valid input, so no backend can skip the checks.
 *
 * <p>Closing a backend twice is harmless; any op on a closed backend is an
 * {@link IllegalStateException} naming the op. A backend is not thread-safe: use one per thread,
 * or synchronise, and never close it while another thread uses it.
 */
public abstract class Backend implements AutoCloseable {
    private final String name;
    private final Device device;
    private final KernelRegistry kernels;
    private final Profiler profiler;
    private volatile boolean closed;

    /**
     * A backend of that name and device with those kernel variants.
     *
     * @param name    "reference", "cpu", "cuda" or the name of another implementation
     * @param device  where its tensors live
     * @param kernels its kernel variants per op
     */
    protected Backend(String name, Device device, KernelRegistry kernels) {
        this.name = name;
        this.device = device;
        this.kernels = kernels;
        this.profiler = new Profiler(this);
    }

    /**
     * "reference", "cpu" or "cuda".
     *
     * @return the backend's name
     */
    public final String name() {
        return name;
    }

    /**
     * Where this backend's tensors live.
     *
     * @return the device
     */
    public final Device device() {
        return device;
    }

    /**
     * Kernel variants per op, and which one is selected.
     *
     * @return the registry of this backend
     */
    public final KernelRegistry kernels() {
        return kernels;
    }

    /**
     * The op-level profiler of this backend: off until {@link Profiler#start()}; scopes and
     * NVTX ranges for model code. See {@link Profiler}.
     *
     * @return this backend's profiler
     */
    public final Profiler profiler() {
        return profiler;
    }

    /**
     * How the profiler times this backend's ops. The default, right for backends whose ops are
     * synchronous, is the wall clock around each op; a backend that queues work asynchronously
     * overrides it (the CUDA backend records CUDA events on its stream).
     *
     * @return the timing used from the next {@link Profiler#start()} on
     */
    protected Profiler.Timing profilerTiming() {
        return Profiler.wallClock();
    }

    /**
     * Whether tensors of this dtype can be allocated here.
     *
     * @param dtype a dtype
     * @return whether this backend has it
     */
    public boolean supports(DType dtype) {
        return dtype != DType.BF16;
    }

    /** Waits until all queued work is done (a no-op on host backends). */
    public void synchronize() {}

    /**
     * Releases what the backend holds (cached memory, streams, library handles). Idempotent;
     * later ops fail with an IllegalStateException. Tensors still open stay valid and free their
     * memory when closed.
     */
    @Override
    public final void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        release();
    }

    /**
     * Whether {@link #close} was called.
     *
     * @return true once closed
     */
    public final boolean isClosed() {
        return closed;
    }

    /** Frees the backend's own resources; called once, by the first {@link #close}. */
    protected void release() {}

    /**
     * What the backend's native memory holds now: bytes of open tensors, bytes cached for reuse,
     * and the number of blocks obtained from the system so far (it stops growing once a repeated
     * step reuses cached blocks). Backends that do not track memory report {@link MemoryStats#UNTRACKED}.
     *
     * @return the figures at the time of the call
     */
    public MemoryStats memoryStats() {
        return MemoryStats.UNTRACKED;
    }

    /**
     * Native memory figures of a backend.
     *
     * @param liveBytes   bytes held by open tensors (rounded to the allocation granule)
     * @param cachedBytes bytes of freed tensors kept for reuse
     * @param systemAllocations blocks requested from the system (malloc, cudaMalloc) since the
     *                    backend was created
     */
    public record MemoryStats(long liveBytes, long cachedBytes, long systemAllocations) {
        /** The figures of a backend that does not track its memory: all -1. */
        public static final MemoryStats UNTRACKED = new MemoryStats(-1, -1, -1);
    }

    /**
     * Throws IllegalStateException naming the op if the backend is closed.
     *
     * @param op the op to name in the exception
     */
    protected final void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": the " + name + " backend is closed");
    }

    @Override
    public String toString() {
        return name + " backend (" + kernels + ")";
    }

    // ------------------------------------------------------------------ memory

    /**
     * Uninitialised tensor.
     *
     * @param dtype the element type
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor empty(DType dtype, long... shape) {
        return allocateChecked("empty", dtype, shape);
    }

    /**
     * Uninitialised f32 tensor.
     *
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor empty(long... shape) {
        return allocateChecked("empty", DType.F32, shape);
    }

    /**
     * Zero-filled f32 tensor.
     *
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor zeros(long... shape) {
        return zeros(DType.F32, shape);
    }

    /**
     * Zero-filled tensor of the dtype.
     *
     * @param dtype the element type
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor zeros(DType dtype, long... shape) {
        Tensor t = allocateChecked("zeros", dtype, shape);
        if (profiler.active) {
            run("zeros", () -> doZero(t), () -> info("zeros", () -> Profiler.shapes("t", t), t.bytes(), 0));
        } else {
            doZero(t);
        }
        return t;
    }

    /**
     * A new f32 tensor holding data (data.length must equal the shape's element count).
     *
     * @param data the values, row-major
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor fromArray(float[] data, long... shape) {
        ensureOpen("fromArray");
        if (data == null) throw Check.bad("fromArray", "data is null");
        checkLength("fromArray", data.length, shape);
        Tensor t = allocateChecked("fromArray", DType.F32, shape);
        if (profiler.active) {
            run("fromArray", () -> doWrite(t, data), () -> info("fromArray", () -> Profiler.shapes("t", t), t.bytes(), 0));
        } else {
            doWrite(t, data);
        }
        return t;
    }

    /**
     * A new i32 tensor holding data.
     *
     * @param data the values, row-major
     * @param shape the dimensions
     * @return a new tensor, in the current {@link io.starprompt.tensor.TensorScope} if one is open
     */
    public final Tensor fromArray(int[] data, long... shape) {
        ensureOpen("fromArray");
        if (data == null) throw Check.bad("fromArray", "data is null");
        checkLength("fromArray", data.length, shape);
        Tensor t = allocateChecked("fromArray", DType.I32, shape);
        if (profiler.active) {
            run("fromArray", () -> doWrite(t, data), () -> info("fromArray", () -> Profiler.shapes("t", t), t.bytes(), 0));
        } else {
            doWrite(t, data);
        }
        return t;
    }

    /** Dtype supported here; shape present, non-negative, and its byte size a 64-bit number. */
    private Tensor allocateChecked(String op, DType dtype, long[] shape) {
        ensureOpen(op);
        if (dtype == null) throw Check.bad(op, "dtype is null");
        if (!supports(dtype)) throw Check.bad(op, "the " + name + " backend has no " + dtype);
        Check.shapeOf(op, shape, dtype);
        return allocate(dtype, shape.clone());
    }

    private static void checkLength(String op, int length, long[] shape) {
        Check.shapeOf(op, shape, DType.F32);
        if (length != Tensor.numel(shape)) {
            throw Check.bad(op, length + " values do not fill shape " + Tensor.shapeString(shape));
        }
    }

    /**
     * Copies the values of an f32 or bf16 tensor to a float array.
     *
     * @param t the tensor
     * @return its values, row-major
     */
    public final float[] toFloatArray(Tensor t) {
        ensureHere("toFloatArray", "t", t);
        if (t.dtype() == DType.I32) throw Check.bad("toFloatArray", t + " is an index tensor");
        Check.toInt("toFloatArray", "element count", t.numel());
        if (profiler.active) {
            return call("toFloatArray", () -> doReadFloats(t),
                    () -> info("toFloatArray", () -> Profiler.shapes("t", t), t.bytes(), 0));
        }
        return doReadFloats(t);
    }

    /**
     * Copies the values of an i32 tensor to an int array.
     *
     * @param t the tensor
     * @return its values, row-major
     */
    public final int[] toIntArray(Tensor t) {
        ensureOpen("toIntArray");
        Check.tensor("toIntArray", "t", t, device, DType.I32);
        Check.toInt("toIntArray", "element count", t.numel());
        if (profiler.active) {
            return call("toIntArray", () -> doReadInts(t),
                    () -> info("toIntArray", () -> Profiler.shapes("t", t), t.bytes(), 0));
        }
        return doReadInts(t);
    }

    /**
     * dst ← src (same shape and dtype).
     *
     * @param src the tensor to read
     * @param dst the tensor to overwrite
     */
    public final void copy(Tensor src, Tensor dst) {
        ensureHere("copy", "src", src);
        Check.tensor("copy", "dst", dst, device, src.dtype());
        Check.sameShape("copy", "src", src, "dst", dst);
        if (profiler.active) {
            run("copy", () -> doCopy(src, dst),
                    () -> info("copy", () -> Profiler.shapes("src", src, "dst", dst), 2 * src.bytes(), 0));
        } else {
            doCopy(src, dst);
        }
    }

    /**
     * dst ← src converted between f32 and bf16 (same shape).
     *
     * @param src the tensor to read
     * @param dst the tensor to overwrite, of the other dtype (or the same: then a copy)
     */
    public final void convert(Tensor src, Tensor dst) {
        ensureHere("convert", "src", src);
        ensureHere("convert", "dst", dst);
        Check.sameShape("convert", "src", src, "dst", dst);
        if (src.dtype() == DType.I32 || dst.dtype() == DType.I32) throw Check.bad("convert", "only f32 and bf16");
        if (profiler.active) {
            run("convert", () -> convertImpl(src, dst),
                    () -> info("convert", () -> Profiler.shapes(src.dtype().toString(), src, dst.dtype().toString(), dst),
                            Profiler.bytes(src, dst), 0));
        } else {
            convertImpl(src, dst);
        }
    }

    private void convertImpl(Tensor src, Tensor dst) {
        if (src.dtype() == dst.dtype()) doCopy(src, dst);
        else doConvert(src, dst);
    }

    /**
     * t ← 0
     *
     * @param t the tensor to clear
     */
    public final void zero(Tensor t) {
        ensureHere("zero", "t", t);
        if (profiler.active) {
            run("zero", () -> doZero(t), () -> info("zero", () -> Profiler.shapes("t", t), t.bytes(), 0));
        } else {
            doZero(t);
        }
    }

    /** Open backend; t non-null, open, on this device and of a dtype this backend has. */
    private void ensureHere(String op, String name, Tensor t) {
        ensureOpen(op);
        if (t == null) throw Check.bad(op, name + " is null");
        t.ensureOpen(op);
        if (t.device() != device) throw Check.bad(op, name + " " + t + " is not on " + device);
        if (!supports(t.dtype())) throw Check.bad(op, name + " " + t + " has a dtype the " + this.name + " backend lacks");
    }

    private Tensor f32(String op, String name, Tensor t) {
        ensureOpen(op);
        return Check.tensor(op, name, t, device, DType.F32);
    }


    /** f32 or bf16 on this device; whether the op has the operands' dtype form is checked by {@link #forms}. */
    private Tensor real(String op, String name, Tensor t) {
        ensureOpen(op);
        return Check.tensor(op, name, t, device, t != null && t.dtype() == DType.BF16 ? DType.BF16 : DType.F32);
    }

    /** As {@link #real}, and at least rank 1 (the op works along the last dimension). */
    private Tensor realRows(String op, String name, Tensor t) {
        real(op, name, t);
        if (t.rank() == 0) throw Check.bad(op, name + " " + t + " is a scalar; the op needs a last dimension");
        return t;
    }

    /**
     * Refuses an op whose float operands (name, tensor pairs; null tensors skipped) include bf16
     * unless this backend keeps bf16 tensors (every backend that does runs every such op on them,
     * mixed dtypes included), naming the op, every operand's dtype and the backend.
     */
    private void forms(String op, Object... namedTensors) {
        boolean bf16 = false;
        for (int i = 1; i < namedTensors.length; i += 2) {
            bf16 |= namedTensors[i] != null && ((Tensor) namedTensors[i]).dtype() == DType.BF16;
        }
        if (!bf16) return;
        if (userKernel(op)) {
            throw Check.bad(op, "the user kernel registered for it takes f32 only (" + dtypes(namedTensors) + ")");
        }
        if (!supports(DType.BF16)) {
            throw Check.bad(op, "the " + name + " backend has no form of this op for these dtypes ("
                    + dtypes(namedTensors) + ")");
        }
    }

    /** "name=DTYPE, ..." of the non-null operands, for messages only (not built on the ops' normal path). */
    private static String dtypes(Object... namedTensors) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < namedTensors.length; i += 2) {
            Tensor t = (Tensor) namedTensors[i + 1];
            if (t != null) sb.append(sb.length() == 0 ? "" : ", ").append(namedTensors[i]).append('=').append(t.dtype());
        }
        return sb.toString();
    }

    private boolean userKernel(String op) {
        return op.equals("gemm") ? kernels.userGemm() != null
                : op.startsWith("attention") && kernels.userAttention() != null;
    }

    // ------------------------------------------------------------------ dense algebra

    /**
     * c ← alpha·op(a)·op(b) + beta·c, op = transpose when the flag is set. a is [m,k] ([k,m]
     * transposed) or batched [n,m,k]; b is [k,n] ([n,k]) or batched; c is [m,n] or [batch,m,n].
     * A 2-D operand is shared by every batch item.
     *
     * @param a left operand
     * @param transA whether a is stored transposed
     * @param b right operand
     * @param transB whether b is stored transposed
     * @param c output
     * @param alpha scale of the product
     * @param beta scale of the previous c (0: c is not read)
     */
    public final void gemm(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        String op = "gemm";
        real(op, "a", a);
        real(op, "b", b);
        real(op, "c", c);
        forms(op, "a", a, "b", b, "c", c);
        Check.rank(op, "a", a, 2, 3);
        Check.rank(op, "b", b, 2, 3);
        Check.rank(op, "c", c, 2, 3);
        long batch = c.rank() == 3 ? c.dim(0) : 1;
        for (Tensor t : new Tensor[] {a, b}) {
            if (t.rank() == 3 && (c.rank() != 3 || t.dim(0) != batch)) {
                throw Check.bad(op, "batched operand " + t + " does not match c " + c);
            }
        }
        long m = transA ? a.dim(-1) : a.dim(-2);
        long k = transA ? a.dim(-2) : a.dim(-1);
        long kb = transB ? b.dim(-1) : b.dim(-2);
        long n = transB ? b.dim(-2) : b.dim(-1);
        if (k != kb || c.dim(-2) != m || c.dim(-1) != n) {
            throw Check.bad(op, "shapes a" + Tensor.shapeString(a.shape()) + (transA ? "ᵀ" : "") + " · b"
                    + Tensor.shapeString(b.shape()) + (transB ? "ᵀ" : "") + " → c" + Tensor.shapeString(c.shape())
                    + " do not chain");
        }
        Check.toInt(op, "m", m);
        Check.toInt(op, "n", n);
        Check.toInt(op, "k", k);
        GemmShape s = new GemmShape((int) m, (int) n, (int) k, (int) batch, transA, transB,
                a.rank() == 3 ? m * k : 0, b.rank() == 3 ? k * n : 0, m * n);
        if (profiler.active) {
            run(op, () -> gemmImpl(s, a, b, c, alpha, beta), () -> info(op,
                    () -> Profiler.shapes(transA ? "aᵀ" : "a", a, transB ? "bᵀ" : "b", b, "c", c),
                    Profiler.bytes(a, b, c) + (beta != 0 ? c.bytes() : 0), 2.0 * m * n * k * batch));
        } else {
            gemmImpl(s, a, b, c, alpha, beta);
        }
    }

    private void gemmImpl(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        OpKernel.Gemm user = kernels.userGemm();
        if (user != null) user.gemm(this, s, a, b, c, alpha, beta);
        else doGemm(s, a, b, c, alpha, beta);
    }

    /** Sizes of one (batched) GEMM; strides are elements between batch items (0 = shared). */
    public record GemmShape(int m, int n, int k, int batch, boolean transA, boolean transB, long strideA,
            long strideB, long strideC) {}

    /**
     * x[..., j] += bias[j] over the last dimension.
     *
     * @param x the tensor to add to, in place
     * @param bias one value per column of the last dimension
     */
    public final void addBias(Tensor x, Tensor bias) {
        realRows("addBias", "x", x);
        real("addBias", "bias", bias);
        Check.shape("addBias", "bias", bias, x.dim(-1));
        forms("addBias", "x", x, "bias", bias);
        if (profiler.active) {
            run("addBias", () -> doAddBias(x, bias),
                    () -> info("addBias", () -> Profiler.shapes("x", x, "bias", bias), 2 * x.bytes() + bias.bytes(), 0));
        } else {
            doAddBias(x, bias);
        }
    }

    /**
     * The MLP's fc1 epilogue in one pass where the backend fuses it: z = x + bias over the last
     * dimension, y ← act(z). When y is another tensor, x is overwritten with z (the pre-activation
     * the activation's backward needs); when y is x, act(x + bias) replaces x.
     *
     * @param act the activation
     * @param x the pre-bias input, in place
     * @param bias one value per column of the last dimension
     * @param y output shaped like x, or x itself
     */
    public final void addBiasActivation(Activation act, Tensor x, Tensor bias, Tensor y) {
        String op = "addBiasActivation";
        realRows(op, "x", x);
        real(op, "bias", bias);
        Check.shape(op, "bias", bias, x.dim(-1));
        Check.sameShape(op, "x", x, "y", real(op, "y", y));
        if (act == null) throw Check.bad(op, "act is null");
        forms(op, "x", x, "bias", bias, "y", y);
        if (profiler.active) {
            run(op, () -> doAddBiasActivation(act, x, bias, y), () -> info(op, () -> Profiler.shapes(act.toString(), x,
                    "bias", bias, "y", y), Profiler.bytes(x, bias, y) + (x == y ? 0 : x.bytes()), 0));
        } else {
            doAddBiasActivation(act, x, bias, y);
        }
    }

    /**
     * y ← y + alpha·x (same shape).
     *
     * @param y the tensor to update in place
     * @param x the tensor to add
     * @param alpha the factor of x
     */
    public final void axpy(Tensor y, Tensor x, float alpha) {
        real("axpy", "y", y);
        real("axpy", "x", x);
        Check.sameShape("axpy", "y", y, "x", x);
        forms("axpy", "y", y, "x", x);
        if (profiler.active) {
            run("axpy", () -> doAxpy(y, x, alpha),
                    () -> info("axpy", () -> Profiler.shapes("y", y, "x", x), 2 * y.bytes() + x.bytes(), 0));
        } else {
            doAxpy(y, x, alpha);
        }
    }

    // ------------------------------------------------------------------ normalisation, activations

    /**
     * LayerNorm over the last dim; mean and rstd get one value per row (saved for the backward).
     *
     * @param x input [..., D]
     * @param gamma scale [D]
     * @param beta shift [D]
     * @param eps added to the variance
     * @param y output shaped like x
     * @param mean one mean per row
     * @param rstd one 1/√(var + eps) per row
     */
    public final void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
        String op = "layerNorm";
        realRows(op, "x", x);
        long cols = x.dim(-1);
        long rows = x.numel() / Math.max(cols, 1);
        Check.shape(op, "gamma", real(op, "gamma", gamma), cols);
        Check.shape(op, "beta", real(op, "beta", beta), cols);
        Check.sameShape(op, "x", x, "y", real(op, "y", y));
        forms(op, "x", x, "gamma", gamma, "beta", beta, "y", y);
        Check.shape(op, "mean", f32(op, "mean", mean).reshape(mean.numel()), rows);
        Check.shape(op, "rstd", f32(op, "rstd", rstd).reshape(rstd.numel()), rows);
        if (!(eps > 0)) throw Check.bad(op, "eps must be positive, got " + eps);
        if (profiler.active) {
            run("layerNorm", () -> doLayerNorm(x, gamma, beta, eps, y, mean, rstd),
                    () -> info("layerNorm", () -> Profiler.shapes("x", x, "gamma", gamma, "y", y),
                            Profiler.bytes(x, gamma, beta, y, mean, rstd), 0));
        } else {
            doLayerNorm(x, gamma, beta, eps, y, mean, rstd);
        }
    }

    /**
     * dx ← LayerNorm backward; dgamma, dbeta (nullable) are accumulated into.
     *
     * @param dy gradient of the output
     * @param x the forward's input
     * @param gamma the forward's scale
     * @param mean the forward's means
     * @param rstd the forward's reciprocal standard deviations
     * @param dx gradient of the input, overwritten
     * @param dgamma gradient of gamma, accumulated into, or null
     * @param dbeta gradient of beta, accumulated into, or null
     */
    public final void layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
            Tensor dgamma, Tensor dbeta) {
        String op = "layerNormBackward";
        realRows(op, "x", x);
        long cols = x.dim(-1);
        long rows = x.numel() / Math.max(cols, 1);
        Check.sameShape(op, "dy", real(op, "dy", dy), "x", x);
        Check.sameShape(op, "dx", real(op, "dx", dx), "x", x);
        Check.shape(op, "gamma", real(op, "gamma", gamma), cols);
        forms(op, "dy", dy, "x", x, "gamma", gamma, "dx", dx);
        Check.shape(op, "mean", f32(op, "mean", mean).reshape(mean.numel()), rows);
        Check.shape(op, "rstd", f32(op, "rstd", rstd).reshape(rstd.numel()), rows);
        if (dgamma != null) Check.shape(op, "dgamma", f32(op, "dgamma", dgamma), cols);
        if (dbeta != null) Check.shape(op, "dbeta", f32(op, "dbeta", dbeta), cols);
        if (profiler.active) {
            run("layerNormBackward", () -> doLayerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta),
                    () -> info("layerNormBackward",
                            () -> Profiler.shapes("dy", dy, "x", x, "dx", dx, "dgamma", dgamma, "dbeta", dbeta),
                            Profiler.bytes(dy, x, gamma, mean, rstd, dx) + 2 * Profiler.bytes(dgamma, dbeta), 0));
        } else {
            doLayerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
        }
    }

    /**
     * y ← act(x); y may be x.
     *
     * @param act the activation
     * @param x input
     * @param y output shaped like x
     */
    public final void activation(Activation act, Tensor x, Tensor y) {
        real("activation", "x", x);
        Check.sameShape("activation", "x", x, "y", real("activation", "y", y));
        if (act == null) throw Check.bad("activation", "act is null");
        forms("activation", "x", x, "y", y);
        if (profiler.active) {
            run("activation", () -> doActivation(act, x, y),
                    () -> info("activation", () -> Profiler.shapes(act.toString(), x, "y", y), Profiler.bytes(x, y), 0));
        } else {
            doActivation(act, x, y);
        }
    }

    /**
     * dx ← act'(x)·dy.
     *
     * @param act the activation
     * @param x the forward's input
     * @param dy gradient of the output
     * @param dx gradient of the input, overwritten
     */
    public final void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        String op = "activationBackward";
        real(op, "x", x);
        Check.sameShape(op, "x", x, "dy", real(op, "dy", dy));
        Check.sameShape(op, "x", x, "dx", real(op, "dx", dx));
        if (act == null) throw Check.bad(op, "act is null");
        forms(op, "x", x, "dy", dy, "dx", dx);
        if (profiler.active) {
            run("activationBackward", () -> doActivationBackward(act, x, dy, dx),
                    () -> info("activationBackward", () -> Profiler.shapes(act.toString(), x, "dy", dy, "dx", dx),
                            Profiler.bytes(x, dy, dx), 0));
        } else {
            doActivationBackward(act, x, dy, dx);
        }
    }

    /**
     * Softmax over the last dim; y may be x.
     *
     * @param x input
     * @param y output shaped like x
     */
    public final void softmax(Tensor x, Tensor y) {
        realRows("softmax", "x", x);
        Check.sameShape("softmax", "x", x, "y", real("softmax", "y", y));
        forms("softmax", "x", x, "y", y);
        if (profiler.active) {
            run("softmax", () -> doSoftmax(x, y),
                    () -> info("softmax", () -> Profiler.shapes("x", x, "y", y), Profiler.bytes(x, y), 0));
        } else {
            doSoftmax(x, y);
        }
    }

    /**
     * dx ← y ⊙ (dy − ⟨dy, y⟩) row-wise, from the softmax output y.
     *
     * @param y the forward's output
     * @param dy gradient of the output
     * @param dx gradient of the input, overwritten
     */
    public final void softmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        String op = "softmaxBackward";
        realRows(op, "y", y);
        Check.sameShape(op, "y", y, "dy", real(op, "dy", dy));
        Check.sameShape(op, "y", y, "dx", real(op, "dx", dx));
        forms(op, "y", y, "dy", dy, "dx", dx);
        if (profiler.active) {
            run("softmaxBackward", () -> doSoftmaxBackward(y, dy, dx),
                    () -> info("softmaxBackward", () -> Profiler.shapes("y", y, "dy", dy, "dx", dx),
                            Profiler.bytes(y, dy, dx), 0));
        } else {
            doSoftmaxBackward(y, dy, dx);
        }
    }

    // ------------------------------------------------------------------ attention

    /**
     * out [B,Nq,H·hd] ← attention; lse [B,H,Nq] saved for the backward.
     *
     * @param in queries, keys, values and the optional prefixes and residual
     * @param out output shaped like q
     * @param lse log-sum-exp of every query row's scaled scores
     */
    public final void attention(AttentionInputs in, Tensor out, Tensor lse) {
        String op = "attention";
        DType dt = checkAttention(op, in);
        Check.sameShape(op, "out", Check.tensor(op, "out", out, device, dt), "q", in.q());
        Check.shape(op, "lse", Check.tensor(op, "lse", lse, device, DType.F32), in.batch(), in.heads(), in.queries());
        forms(op, "q", in.q(), "prefixK", in.prefixK(), "prefixV", in.prefixV(), "residual", in.residual());
        if (profiler.active) {
            run(op, () -> attentionImpl(in, out, lse), () -> new Profiler.OpInfo(attentionLabel(in), () -> attentionShapes(in),
                    attentionBytes(in) + Profiler.bytes(out, lse), 4.0 * attentionPairs(in) * in.headDim()));
        } else {
            attentionImpl(in, out, lse);
        }
    }

    private void attentionImpl(AttentionInputs in, Tensor out, Tensor lse) {
        OpKernel.Attention kernel = kernels.attentionKernel(in);
        if (kernel != null) {
            kernel.forward(this, in, out, lse);
        } else {
            doAttention(in, out, lse);
        }
    }

    /**
     * Attention backward from the forward's out and lse and the upstream gradient dOut.
     *
     * @param in the forward's inputs
     * @param out the forward's output
     * @param lse the forward's log-sum-exp
     * @param dOut gradient of the output
     * @param g the gradients to overwrite
     */
    public final void attentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        String op = "attentionBackward";
        DType dt = checkAttention(op, in);
        Check.sameShape(op, "out", Check.tensor(op, "out", out, device, dt), "q", in.q());
        Check.sameShape(op, "dOut", real(op, "dOut", dOut), "q", in.q());
        Check.shape(op, "lse", Check.tensor(op, "lse", lse, device, DType.F32), in.batch(), in.heads(), in.queries());
        if (g == null) throw Check.bad(op, "grads is null");
        gradLike(op, "dq", g.dq(), "q", in.q(), null);
        gradLike(op, "dk", g.dk(), "k", in.k(), null);
        gradLike(op, "dv", g.dv(), "v", in.v(), null);
        gradLike(op, "dPrefixK", g.dPrefixK(), "prefixK", in.prefixK(), null);
        gradLike(op, "dPrefixV", g.dPrefixV(), "prefixV", in.prefixV(), null);
        gradLike(op, "dResidual", g.dResidual(), "residual", in.residual(), null);
        forms(op, "q", in.q(), "prefixK", in.prefixK(), "prefixV", in.prefixV(), "residual", in.residual(), "dOut",
                dOut, "dq", g.dq(), "dk", g.dk(), "dv", g.dv(), "dPrefixK", g.dPrefixK(), "dPrefixV", g.dPrefixV(),
                "dResidual", g.dResidual());
        if (profiler.active) {
            run(op, () -> attentionBackwardImpl(in, out, lse, dOut, g), () -> new Profiler.OpInfo(attentionLabel(in),
                    () -> attentionShapes(in), attentionBytes(in) + Profiler.bytes(out, lse, dOut, g.dq(), g.dk(), g.dv(),
                            g.dPrefixK(), g.dPrefixV(), g.dResidual()), 10.0 * attentionPairs(in) * in.headDim()));
        } else {
            attentionBackwardImpl(in, out, lse, dOut, g);
        }
    }

    private void attentionBackwardImpl(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        OpKernel.Attention kernel = kernels.attentionKernel(in);
        if (kernel != null) {
            kernel.backward(this, in, out, lse, dOut, g);
        } else {
            doAttentionBackward(in, out, lse, dOut, g);
        }
    }

    /** A gradient output must be present exactly when its input is, and shaped like it (of dt, or f32/bf16 when dt is null). */
    private void gradLike(String op, String name, Tensor grad, String inputName, Tensor input, DType dt) {
        if (grad == null) {
            if (input != null) throw Check.bad(op, name + " is required since " + inputName + " is given");
            return;
        }
        if (input == null) throw Check.bad(op, name + " given but " + inputName + " is absent");
        Check.sameShape(op, name, dt == null ? real(op, name, grad) : Check.tensor(op, name, grad, device, dt), inputName,
                input);
    }

    private DType checkAttention(String op, AttentionInputs in) {
        ensureOpen(op);
        if (in == null) throw Check.bad(op, "inputs are null");
        if (in.q() == null) throw Check.bad(op, "q is null");
        DType dt = in.q().dtype();
        if (dt == DType.I32 || !supports(dt)) throw Check.bad(op, "dtype " + dt + " not supported on " + name);
        Check.tensor(op, "q", in.q(), device, dt);
        Check.tensor(op, "k", in.k(), device, dt);
        Check.tensor(op, "v", in.v(), device, dt);
        Check.rank(op, "q", in.q(), 3);
        Check.rank(op, "k", in.k(), 3);
        long b = in.q().dim(0), width = in.q().dim(2);
        if (in.heads() <= 0 || width % in.heads() != 0) {
            throw Check.bad(op, "width " + width + " of q is not divisible by heads = " + in.heads());
        }
        Check.shape(op, "k", in.k(), b, in.k().dim(1), width);
        Check.sameShape(op, "k", in.k(), "v", in.v());
        if ((in.prefixK() == null) != (in.prefixV() == null)) throw Check.bad(op, "prefixK and prefixV must be given together");
        if (in.prefixK() != null) {
            real(op, "prefixK", in.prefixK());
            real(op, "prefixV", in.prefixV());
            Check.rank(op, "prefixK", in.prefixK(), 3);
            Check.shape(op, "prefixK", in.prefixK(), b, in.prefixK().dim(1), width);
            Check.sameShape(op, "prefixK", in.prefixK(), "prefixV", in.prefixV());
        }
        if (in.residual() != null) Check.shape(op, "residual", real(op, "residual", in.residual()), b, width);
        if (in.causal() && in.keys() != in.queries()) {
            throw Check.bad(op, "causal attention needs as many keys (" + in.keys() + ") as queries (" + in.queries() + ")");
        }
        if (in.keys() + in.prefixLength() == 0) throw Check.bad(op, "no keys");
        if (!(in.scale() > 0) || Float.isInfinite(in.scale())) throw Check.bad(op, "scale must be positive and finite");
        return dt;
    }

    // ------------------------------------------------------------------ gathers, reductions

    /**
     * out[i] ← table[ids[i]]; table [V, D], out [ids.length, D].
     *
     * @param table the embedding table [V, D]
     * @param ids rows to read, each in [0, V)
     * @param out the gathered rows
     */
    public final void embeddingGather(Tensor table, int[] ids, Tensor out) {
        String op = "embeddingGather";
        real(op, "table", table);
        Check.rank(op, "table", table, 2);
        Check.indices(op, "ids", ids, ids == null ? 0 : ids.length, 0, Check.toInt(op, "vocab", table.dim(0)));
        Check.shape(op, "out", real(op, "out", out), ids.length, table.dim(1));
        forms(op, "table", table, "out", out);
        if (profiler.active) {
            run("embeddingGather", () -> doEmbeddingGather(table, ids, out),
                    () -> info("embeddingGather", () -> Profiler.shapes("table", table, "out", out),
                            2 * out.bytes() + 4L * ids.length, 0));
        } else {
            doEmbeddingGather(table, ids, out);
        }
    }

    /**
     * dTable[ids[i]] += dOut[i].
     *
     * @param dOut gradient of the gathered rows [ids.length, D]
     * @param ids the rows they were read from
     * @param dTable gradient of the table [V, D], accumulated into
     */
    public final void embeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
        String op = "embeddingScatterAdd";
        f32(op, "dTable", dTable);
        Check.rank(op, "dTable", dTable, 2);
        Check.indices(op, "ids", ids, ids == null ? 0 : ids.length, 0, Check.toInt(op, "vocab", dTable.dim(0)));
        Check.shape(op, "dOut", f32(op, "dOut", dOut), ids.length, dTable.dim(1));
        if (profiler.active) {
            run("embeddingScatterAdd", () -> doEmbeddingScatterAdd(dOut, ids, dTable),
                    () -> info("embeddingScatterAdd", () -> Profiler.shapes("dOut", dOut, "dTable", dTable),
                            3 * dOut.bytes() + 4L * ids.length, 0));
        } else {
            doEmbeddingScatterAdd(dOut, ids, dTable);
        }
    }

    /**
     * out[b] ← Σ_n x[b, n]; x [B, N, D], out [B, D].
     *
     * @param x input [B, N, D]
     * @param out the sums [B, D]
     */
    public final void tokenSum(Tensor x, Tensor out) {
        real("tokenSum", "x", x);
        Check.rank("tokenSum", "x", x, 3);
        Check.shape("tokenSum", "out", real("tokenSum", "out", out), x.dim(0), x.dim(2));
        forms("tokenSum", "x", x, "out", out);
        if (profiler.active) {
            run("tokenSum", () -> doTokenSum(x, out),
                    () -> info("tokenSum", () -> Profiler.shapes("x", x, "out", out), Profiler.bytes(x, out), 0));
        } else {
            doTokenSum(x, out);
        }
    }

    /**
     * out[b] ← x[b, idx[b]] (CLS or EOS pooling).
     *
     * @param x input [B, N, D]
     * @param idx one token index per batch item
     * @param out the picked rows [B, D]
     */
    public final void tokenGather(Tensor x, int[] idx, Tensor out) {
        String op = "tokenGather";
        real(op, "x", x);
        Check.rank(op, "x", x, 3);
        Check.shape(op, "out", real(op, "out", out), x.dim(0), x.dim(2));
        forms(op, "x", x, "out", out);
        Check.indices(op, "idx", idx, (int) x.dim(0), 0, (int) x.dim(1));
        if (profiler.active) {
            run("tokenGather", () -> doTokenGather(x, idx, out),
                    () -> info("tokenGather", () -> Profiler.shapes("x", x, "out", out), 2 * out.bytes() + 4L * idx.length,
                            0));
        } else {
            doTokenGather(x, idx, out);
        }
    }

    /**
     * dx[b, idx[b]] += dOut[b].
     *
     * @param dOut gradient of the picked rows [B, D]
     * @param idx the token each row was picked from
     * @param dx gradient of the input [B, N, D], accumulated into
     */
    public final void tokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
        String op = "tokenScatterAdd";
        real(op, "dx", dx);
        Check.rank(op, "dx", dx, 3);
        Check.shape(op, "dOut", real(op, "dOut", dOut), dx.dim(0), dx.dim(2));
        forms(op, "dOut", dOut, "dx", dx);
        Check.indices(op, "idx", idx, (int) dx.dim(0), 0, (int) dx.dim(1));
        if (profiler.active) {
            run("tokenScatterAdd", () -> doTokenScatterAdd(dOut, idx, dx),
                    () -> info("tokenScatterAdd", () -> Profiler.shapes("dOut", dOut, "dx", dx),
                            3 * dOut.bytes() + 4L * idx.length, 0));
        } else {
            doTokenScatterAdd(dOut, idx, dx);
        }
    }

    /**
     * images [B, C, S, S] → patches [B, 1 + G², C·p·p] (G = S/p): row 1 + gy·G + gx holds patch
     * (gy, gx) in (channel, ky, kx) order, the conv weight's layout; row 0 (class-token slot) is zero.
     *
     * @param images input [B, C, S, S]
     * @param patch the patch side p
     * @param patches output [B, 1 + G², C·p·p]
     */
    public final void patchify(Tensor images, int patch, Tensor patches) {
        String op = "patchify";
        long[] g = patchGeometry(op, real(op, "images", images), patch);
        Check.shape(op, "patches", real(op, "patches", patches), g[0], g[1], g[2]);
        forms(op, "images", images, "patches", patches);
        if (profiler.active) {
            run("patchify", () -> doPatchify(images, patch, patches),
                    () -> info("patchify", () -> Profiler.shapes("images", images, "patches", patches),
                            Profiler.bytes(images, patches), 0));
        } else {
            doPatchify(images, patch, patches);
        }
    }

    /**
     * Adjoint of {@link #patchify}: dImages [B, C, S, S] overwritten from dPatches (row 0 ignored).
     *
     * @param dPatches gradient of the patches [B, 1 + G², C·p·p]
     * @param patch the patch side p
     * @param dImages gradient of the images [B, C, S, S], overwritten
     */
    public final void unpatchify(Tensor dPatches, int patch, Tensor dImages) {
        String op = "unpatchify";
        long[] g = patchGeometry(op, real(op, "dImages", dImages), patch);
        Check.shape(op, "dPatches", real(op, "dPatches", dPatches), g[0], g[1], g[2]);
        forms(op, "dPatches", dPatches, "dImages", dImages);
        if (profiler.active) {
            run("unpatchify", () -> doUnpatchify(dPatches, patch, dImages),
                    () -> info("unpatchify", () -> Profiler.shapes("dPatches", dPatches, "dImages", dImages),
                            Profiler.bytes(dPatches, dImages), 0));
        } else {
            doUnpatchify(dPatches, patch, dImages);
        }
    }

    /** [B, 1 + G², C·p·p] for square images whose side is a multiple of the patch. */
    private static long[] patchGeometry(String op, Tensor images, int patch) {
        Check.rank(op, "images", images, 4);
        long side = images.dim(2);
        if (patch <= 0 || images.dim(3) != side || side % patch != 0) {
            throw Check.bad(op, "images " + Tensor.shapeString(images.shape()) + " are not square multiples of patch "
                    + patch);
        }
        long grid = side / patch;
        return new long[] {images.dim(0), 1 + grid * grid, images.dim(1) * patch * patch};
    }

    // ------------------------------------------------------------------ loss, optimisers

    /**
     * Mean cross-entropy of logits [B, C] with only classes [lo, hi) taking part (past classes
     * masked below lo, unseen ones cut at hi). Writes the gradient of the mean loss into dlogits
     * (nullable; zero outside [lo, hi)) and returns the loss.
     *
     * @param logits scores [B, C]
     * @param labels one label per row, each in [lo, hi)
     * @param lo first class taking part
     * @param hi end of the classes taking part (exclusive)
     * @param dlogits gradient of the mean loss, overwritten, or null
     * @return the mean loss
     */
    public final float crossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits) {
        String op = "crossEntropy";
        f32(op, "logits", logits);
        Check.rank(op, "logits", logits, 2);
        int batch = (int) logits.dim(0), classes = Check.toInt(op, "classes", logits.dim(1));
        if (lo < 0 || hi > classes || lo >= hi) {
            throw Check.bad(op, "class range [" + lo + ", " + hi + ") is empty or outside [0, " + classes + ")");
        }
        Check.indices(op, "labels", labels, batch, lo, hi);
        if (dlogits != null) Check.sameShape(op, "dlogits", f32(op, "dlogits", dlogits), "logits", logits);
        if (profiler.active) {
            return call(op, () -> doCrossEntropy(logits, labels, lo, hi, dlogits), () -> info(op,
                    () -> Profiler.shapes("logits", logits, "dlogits", dlogits),
                    Profiler.bytes(logits, dlogits) + 4L * batch, 0));
        }
        return doCrossEntropy(logits, labels, lo, hi, dlogits);
    }

    /**
     * One Adam step on param with moments m, v (all the shape of param); step counts from 1.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param m first moment, updated in place
     * @param v second moment, updated in place
     * @param cfg learning rate, betas, eps and weight decay
     * @param step the step number, from 1
     */
    public final void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, int step) {
        String op = "adamStep";
        f32(op, "param", param);
        Check.sameShape(op, "param", param, "grad", f32(op, "grad", grad));
        Check.sameShape(op, "param", param, "m", f32(op, "m", m));
        Check.sameShape(op, "param", param, "v", f32(op, "v", v));
        if (step < 1) throw Check.bad(op, "step must be ≥ 1, got " + step);
        if (cfg == null) throw Check.bad(op, "config is null");
        if (profiler.active) {
            run("adamStep", () -> doAdamStep(param, grad, m, v, cfg, step),
                    () -> info("adamStep", () -> Profiler.shapes("param", param), 7 * param.bytes(), 0));
        } else {
            doAdamStep(param, grad, m, v, cfg, step);
        }
    }

    /**
     * param ← param − lr·(grad + weightDecay·param).
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param lr the learning rate
     * @param weightDecay the L2 factor added to the gradient
     */
    public final void sgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
        f32("sgdStep", "param", param);
        Check.sameShape("sgdStep", "param", param, "grad", f32("sgdStep", "grad", grad));
        if (profiler.active) {
            run("sgdStep", () -> doSgdStep(param, grad, lr, weightDecay),
                    () -> info("sgdStep", () -> Profiler.shapes("param", param), 3 * param.bytes(), 0));
        } else {
            doSgdStep(param, grad, lr, weightDecay);
        }
    }

    // ------------------------------------------------------------------ STAR-Prompt retrieval

    /**
     * Per layer l and sample b: sims[l,b,c] = 5·cos(q_b ⊙ softmax(A[l,c]), k_c) for c &lt; seen,
     * sel[l,b] = argmax, sp[l,b] = w·P[l, sel] with w = sims[l,b,sel] (or 1 without modulation).
     * sims [L,B,seen] f32, sel [L,B] i32, sp [L,B,dp] f32.
     *
     * @param in queries, keys, modulation logits, prompt pools, seen classes
     * @param sims similarities [L, B, seen]
     * @param sel selected classes [L, B] (i32)
     * @param sp selected, weighted prompts [L, B, dp]
     */
    public final void retrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        String op = "retrieval";
        checkRetrieval(op, in);
        Check.shape(op, "sims", f32(op, "sims", sims), in.layers(), in.batch(), in.seen());
        Check.shape(op, "sel", Check.tensor(op, "sel", sel, device, DType.I32), in.layers(), in.batch());
        Check.shape(op, "sp", f32(op, "sp", sp), in.layers(), in.batch(), in.promptDim());
        if (profiler.active) {
            run(op, () -> retrievalImpl(in, sims, sel, sp), () -> info(op, () -> retrievalShapes(in),
                    retrievalBytes(in) + Profiler.bytes(sims, sel, sp), 0));
        } else {
            retrievalImpl(in, sims, sel, sp);
        }
    }

    private void retrievalImpl(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        OpKernel.Retrieval user = kernels.userRetrieval();
        if (user != null) user.forward(this, in, sims, sel, sp);
        else doRetrieval(in, sims, sel, sp);
    }

    /**
     * Gradients of the retrieval given dsp [L,B,dp]: dA [L,C,d] and dP [L,C,dp] are overwritten;
     * only rows of selected current classes (past ≤ c &lt; seen) are non-zero.
     *
     * @param in the forward's inputs
     * @param sims the forward's similarities
     * @param sel the forward's selection
     * @param dsp gradient of the selected prompts [L, B, dp]
     * @param past classes below this get no gradient
     * @param dA gradient of the modulation logits [L, C, d], overwritten
     * @param dP gradient of the prompt pools [L, C, dp], overwritten
     */
    public final void retrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past,
            Tensor dA, Tensor dP) {
        String op = "retrievalBackward";
        checkRetrieval(op, in);
        Check.shape(op, "sims", f32(op, "sims", sims), in.layers(), in.batch(), in.seen());
        Check.shape(op, "sel", Check.tensor(op, "sel", sel, device, DType.I32), in.layers(), in.batch());
        Check.shape(op, "dsp", f32(op, "dsp", dsp), in.layers(), in.batch(), in.promptDim());
        Check.sameShape(op, "dA", f32(op, "dA", dA), "modulation", in.modulation());
        Check.sameShape(op, "dP", f32(op, "dP", dP), "prompts", in.prompts());
        if (past < 0 || past > in.seen()) throw Check.bad(op, "past = " + past + " outside [0, seen = " + in.seen() + "]");
        if (profiler.active) {
            run(op, () -> retrievalBackwardImpl(in, sims, sel, dsp, past, dA, dP), () -> info("retrieval",
                    () -> retrievalShapes(in), retrievalBytes(in) + Profiler.bytes(sims, sel, dsp, dA, dP), 0));
        } else {
            retrievalBackwardImpl(in, sims, sel, dsp, past, dA, dP);
        }
    }

    private void retrievalBackwardImpl(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past, Tensor dA,
            Tensor dP) {
        OpKernel.Retrieval user = kernels.userRetrieval();
        if (user != null) user.backward(this, in, sims, sel, dsp, past, dA, dP);
        else doRetrievalBackward(in, sims, sel, dsp, past, dA, dP);
    }

    private void checkRetrieval(String op, RetrievalInputs in) {
        ensureOpen(op);
        if (in == null) throw Check.bad(op, "inputs are null");
        Check.rank(op, "queries", f32(op, "queries", in.queries()), 2);
        Check.rank(op, "modulation", f32(op, "modulation", in.modulation()), 3);
        Check.rank(op, "prompts", f32(op, "prompts", in.prompts()), 3);
        f32(op, "keys", in.keys());
        int d = in.queryDim();
        if (in.seen() < 1 || in.seen() > in.classes()) {
            throw Check.bad(op, "seen = " + in.seen() + " outside [1, classes = " + in.classes() + "]");
        }
        Check.shape(op, "keys", in.keys(), in.seen(), d);
        Check.shape(op, "modulation", in.modulation(), in.layers(), in.classes(), d);
        Check.shape(op, "prompts", in.prompts(), in.layers(), in.classes(), in.promptDim());
    }

    // ------------------------------------------------------------------ CODA-Prompt component weighting

    /**
     * CODA-Prompt's component weighting (methods/coda-prompt.md §3) for every layer l, image b and
     * used component k &lt; f: u = q_b ⊙ A[l,k], α[l,b,k] = ⟨u / max(‖u‖, 1e-12), K[l,k] /
     * max(‖K[l,k]‖, 1e-12)⟩ (a signed cosine, no softmax, no selection), and
     * out[l,b] = Σ_{k&lt;f} α[l,b,k]·P[l,k]. alpha [L, B, f] and out [L, B, R] are overwritten.
     *
     * @param in queries, keys, attention vectors, components and the used count f
     * @param alpha the weights [L, B, f]
     * @param out the weighted sums [L, B, R]
     */
    public final void componentWeighting(ComponentInputs in, Tensor alpha, Tensor out) {
        String op = "componentWeighting";
        checkComponents(op, in);
        Check.shape(op, "alpha", f32(op, "alpha", alpha), in.layers(), in.batch(), in.used());
        Check.shape(op, "out", f32(op, "out", out), in.layers(), in.batch(), in.rowWidth());
        if (profiler.active) {
            run(op, () -> doComponentWeighting(in, alpha, out), () -> info(op, () -> componentShapes(in),
                    componentBytes(in) + Profiler.bytes(alpha, out), componentFlops(in)));
        } else {
            doComponentWeighting(in, alpha, out);
        }
    }

    /**
     * Gradients of {@link #componentWeighting} given dOut [L, B, R]: dKeys, dAttention [L, M, D]
     * and dComponents [L, M, R] are overwritten. Only the trained components [from, f) get
     * gradient (methods/coda-prompt.md §6): earlier ones are frozen but were used, later ones
     * were not used; both get zero rows.
     *
     * @param in the forward's inputs
     * @param dOut gradient of the weighted sums [L, B, R]
     * @param from first trained component (s_t), in [0, f]
     * @param dKeys gradient of K [L, M, D], overwritten
     * @param dAttention gradient of A [L, M, D], overwritten
     * @param dComponents gradient of P [L, M, R], overwritten
     */
    public final void componentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
            Tensor dAttention, Tensor dComponents) {
        String op = "componentWeightingBackward";
        checkComponents(op, in);
        Check.shape(op, "dOut", f32(op, "dOut", dOut), in.layers(), in.batch(), in.rowWidth());
        Check.sameShape(op, "dKeys", f32(op, "dKeys", dKeys), "keys", in.keys());
        Check.sameShape(op, "dAttention", f32(op, "dAttention", dAttention), "attention", in.attention());
        Check.sameShape(op, "dComponents", f32(op, "dComponents", dComponents), "components", in.components());
        if (from < 0 || from > in.used()) throw Check.bad(op, "from = " + from + " outside [0, used = " + in.used() + "]");
        if (profiler.active) {
            run(op, () -> doComponentWeightingBackward(in, dOut, from, dKeys, dAttention, dComponents),
                    () -> info(op, () -> componentShapes(in) + " from=" + from, componentBytes(in)
                            + Profiler.bytes(dOut, dKeys, dAttention, dComponents), 2 * componentFlops(in)));
        } else {
            doComponentWeightingBackward(in, dOut, from, dKeys, dAttention, dComponents);
        }
    }

    private void checkComponents(String op, ComponentInputs in) {
        ensureOpen(op);
        if (in == null) throw Check.bad(op, "inputs are null");
        Check.rank(op, "queries", f32(op, "queries", in.queries()), 2);
        Check.rank(op, "keys", f32(op, "keys", in.keys()), 3);
        f32(op, "attention", in.attention());
        Check.rank(op, "components", f32(op, "components", in.components()), 3);
        Check.shape(op, "keys", in.keys(), in.keys().dim(0), in.keys().dim(1), in.queryDim());
        Check.sameShape(op, "attention", in.attention(), "keys", in.keys());
        Check.shape(op, "components", in.components(), in.layers(), in.components().dim(1), in.rowWidth());
        if (in.components().dim(1) != in.keys().dim(1)) {
            throw Check.bad(op, "components " + in.components() + " and keys " + in.keys() + " hold different counts");
        }
        if (in.used() < 1 || in.used() > in.components().dim(1)) {
            throw Check.bad(op, "used = " + in.used() + " outside [1, components = " + in.components().dim(1) + "]");
        }
        Check.toInt(op, "components", in.components().dim(1));
        Check.toInt(op, "row width", in.components().dim(2));
    }

    private static String componentShapes(ComponentInputs in) {
        return Profiler.shapes("queries", in.queries(), "K,A", in.keys(), "P", in.components()) + " used=" + in.used();
    }

    /** Queries and the used rows of K, A and P. */
    private static long componentBytes(ComponentInputs in) {
        return Profiler.bytes(in.queries()) + 4L * in.layers() * in.used() * (2L * in.queryDim() + in.rowWidth());
    }

    /** The two cosine terms over D and the weighted sum over R, per layer, image and used component. */
    private static double componentFlops(ComponentInputs in) {
        return 2.0 * in.layers() * in.batch() * in.used() * (2.0 * in.queryDim() + in.rowWidth());
    }

    // ------------------------------------------------------------------ input prompts (methods/l2p.md)

    /**
     * Cosine top-N prompt match (methods/l2p.md §3). With x̂ = x / sqrt(max(‖x‖², 1e-12)):
     * scores[b, j] ← ⟨q̂_b, k̂_j⟩, and selected[b] ← the topN indices of scores[b] in decreasing
     * score; equal scores go to the lower index. With batchwise, every id is counted over all
     * B·topN choices and every row of selected becomes the topN most frequent ids, in decreasing
     * count, equal counts to the lower id (the batch-wise vote of methods/l2p.md §3). No gradient
     * flows through the choice; {@link #cosineMatchBackward} differentiates the chosen scores.
     *
     * @param queries the queries [B, D]
     * @param keys the keys [M, D], M ≥ 1
     * @param topN how many keys each row chooses, 1 ≤ topN ≤ M
     * @param batchwise whether the batch votes one choice for all rows
     * @param scores the cosine similarities [B, M], overwritten
     * @param selected the chosen key indices [B, topN] (i32), overwritten
     */
    public final void cosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
            Tensor selected) {
        String op = "cosineMatch";
        checkQueriesAndKeys(op, queries, keys);
        long batch = queries.dim(0), pool = keys.dim(0);
        if (topN < 1 || topN > pool) throw Check.bad(op, "topN = " + topN + " outside [1, M = " + pool + "]");
        Check.shape(op, "scores", f32(op, "scores", scores), batch, pool);
        Check.shape(op, "selected", Check.tensor(op, "selected", selected, device, DType.I32), batch, topN);
        dispatch(op, () -> doCosineMatch(queries, keys, topN, batchwise, scores, selected),
                () -> Profiler.shapes("queries", queries, "keys", keys) + " topN=" + topN
                        + (batchwise ? " batchwise" : ""), Profiler.bytes(queries, keys, scores, selected));
    }

    /**
     * Gradient of R = Σ_b Σ_n dSelected[b, n] · scores[b, selected[b, n]] (the scores of
     * {@link #cosineMatch}) to the keys and, optionally, the queries. With n_x the clamped norm:
     * dKeys[j] ← Σ over (b, n) choosing j of dSelected[b, n] · (q̂_b − s·k̂_j) / n_{k_j}, and
     * dQueries[b] ← Σ_n dSelected[b, n] · (k̂_j − s·q̂_b) / n_{q_b}; a vector whose squared norm is
     * clamped has a constant normaliser, so its projection term is absent. Keys no row chose get
     * zero. The indices are checked on the host (a short wait on asynchronous backends).
     *
     * @param queries the forward's queries [B, D]
     * @param keys the forward's keys [M, D]
     * @param selected the chosen indices [B, N] (i32), each in [0, M)
     * @param dSelected the gradient of the loss to each chosen score [B, N]
     * @param dKeys gradient of the keys [M, D], overwritten
     * @param dQueries gradient of the queries [B, D], overwritten; null when not wanted
     */
    public final void cosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
            Tensor dKeys, Tensor dQueries) {
        String op = "cosineMatchBackward";
        checkQueriesAndKeys(op, queries, keys);
        Check.rank(op, "selected", Check.tensor(op, "selected", selected, device, DType.I32), 2);
        long batch = queries.dim(0), pool = keys.dim(0), topN = selected.dim(1);
        if (selected.dim(0) != batch || topN < 1) {
            throw Check.bad(op, "selected " + selected + " must be [B = " + batch + ", N ≥ 1]");
        }
        Check.shape(op, "dSelected", f32(op, "dSelected", dSelected), batch, topN);
        Check.sameShape(op, "dKeys", f32(op, "dKeys", dKeys), "keys", keys);
        if (dQueries != null) Check.sameShape(op, "dQueries", f32(op, "dQueries", dQueries), "queries", queries);
        checkIndexTensor(op, "selected", selected, (int) pool);
        dispatch(op, () -> doCosineMatchBackward(queries, keys, selected, dSelected, dKeys, dQueries),
                () -> Profiler.shapes("queries", queries, "keys", keys, "selected", selected),
                Profiler.bytes(queries, keys, selected, dSelected, dKeys, dQueries));
    }

    /**
     * Input-prompt concatenation (methods/l2p.md §4): for tokens [B, T, D] whose row 0 is the class
     * token, out[b] ← [tokens[b, 0]; pool[s_0] + shift; …; pool[s_{N−1}] + shift; tokens[b, 1 …]]
     * with s = selected[b], each pool entry contributing its L rows. out is [B, T + N·L, D].
     * The indices are checked on the host (a short wait on asynchronous backends).
     *
     * @param tokens the embedded sequence [B, T ≥ 1, D]
     * @param pool the prompt pool [M, L, D]
     * @param selected the prompts of each sample [B, N] (i32), each in [0, M)
     * @param shift added to every prompt row [D] (the class position's embedding); null for none
     * @param out the prompted sequence [B, T + N·L, D], overwritten
     */
    public final void promptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out) {
        String op = "promptConcat";
        Check.rank(op, "tokens", f32(op, "tokens", tokens), 3);
        checkPromptPool(op, pool, selected, tokens.dim(0), tokens.dim(2));
        if (tokens.dim(1) < 1) throw Check.bad(op, "tokens " + tokens + " has no class token row");
        if (shift != null) Check.shape(op, "shift", f32(op, "shift", shift), tokens.dim(2));
        long seq = tokens.dim(1) + selected.dim(1) * pool.dim(1);
        Check.shape(op, "out", f32(op, "out", out), tokens.dim(0), seq, tokens.dim(2));
        Check.toInt(op, "sequence length", seq);
        checkIndexTensor(op, "selected", selected, (int) pool.dim(0));
        dispatch(op, () -> doPromptConcat(tokens, pool, selected, shift, out),
                () -> Profiler.shapes("tokens", tokens, "pool", pool, "out", out), 2 * out.bytes());
    }

    /**
     * Backward of {@link #promptConcat}: dPool[j] ← the sum of the rows of dOut that prompt j
     * occupied, over every sample that chose it (zero for prompts no sample chose), and, when
     * dTokens is given, dTokens ← the rows of dOut the tokens occupied.
     *
     * @param dOut gradient of the prompted sequence [B, T + N·L, D]
     * @param selected the forward's selection [B, N] (i32), each in [0, M)
     * @param dPool gradient of the pool [M, L, D], overwritten
     * @param dTokens gradient of the tokens [B, T, D], overwritten; null when not wanted
     */
    public final void promptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens) {
        String op = "promptConcatBackward";
        Check.rank(op, "dOut", f32(op, "dOut", dOut), 3);
        checkPromptPool(op, dPool, selected, dOut.dim(0), dOut.dim(2));
        long t = dOut.dim(1) - selected.dim(1) * dPool.dim(1);
        if (t < 1) throw Check.bad(op, "dOut " + dOut + " is shorter than its " + selected.dim(1) * dPool.dim(1)
                + " prompt rows plus the class token");
        if (dTokens != null) Check.shape(op, "dTokens", f32(op, "dTokens", dTokens), dOut.dim(0), t, dOut.dim(2));
        checkIndexTensor(op, "selected", selected, (int) dPool.dim(0));
        dispatch(op, () -> doPromptConcatBackward(dOut, selected, dPool, dTokens),
                () -> Profiler.shapes("dOut", dOut, "dPool", dPool), 2 * dOut.bytes());
    }

    /** pool [M ≥ 1, L ≥ 1, width] f32 and selected [batch, N ≥ 1] i32, on this device. */
    private void checkPromptPool(String op, Tensor pool, Tensor selected, long batch, long width) {
        Check.rank(op, "pool", f32(op, "pool", pool), 3);
        if (pool.dim(0) < 1 || pool.dim(1) < 1 || pool.dim(2) != width) {
            throw Check.bad(op, "pool " + pool + " must be [M ≥ 1, L ≥ 1, D = " + width + "]");
        }
        Check.rank(op, "selected", Check.tensor(op, "selected", selected, device, DType.I32), 2);
        if (selected.dim(0) != batch || selected.dim(1) < 1) {
            throw Check.bad(op, "selected " + selected + " must be [B = " + batch + ", N ≥ 1]");
        }
    }

    /**
     * out[b] ← (1/count) Σ_{i = from}^{from + count − 1} x[b, i]: the mean over a range of tokens
     * (the prompt positions of methods/l2p.md §5).
     *
     * @param x the tokens [B, S, D]
     * @param from the first token of the range
     * @param count how many tokens, ≥ 1, with from + count ≤ S
     * @param out the means [B, D], overwritten
     */
    public final void tokenRangeMean(Tensor x, int from, int count, Tensor out) {
        String op = "tokenRangeMean";
        checkTokenRange(op, "x", x, "out", out, from, count);
        dispatch(op, () -> doTokenRangeMean(x, from, count, out),
                () -> Profiler.shapes("x", x, "out", out) + " tokens " + from + "+" + count, Profiler.bytes(x, out));
    }

    /**
     * Backward of {@link #tokenRangeMean}: dx[b, i] ← dOut[b] / count for the tokens of the
     * range, 0 for the others.
     *
     * @param dOut gradient of the means [B, D]
     * @param from the first token of the range
     * @param count how many tokens, ≥ 1, with from + count ≤ S
     * @param dx gradient of the tokens [B, S, D], overwritten
     */
    public final void tokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx) {
        String op = "tokenRangeMeanBackward";
        checkTokenRange(op, "dx", dx, "dOut", dOut, from, count);
        dispatch(op, () -> doTokenRangeMeanBackward(dOut, from, count, dx),
                () -> Profiler.shapes("dOut", dOut, "dx", dx) + " tokens " + from + "+" + count,
                Profiler.bytes(dOut, dx));
    }

    /** tokens [B, S, D] and mean [B, D], f32 here, and the range [from, from + count) within [0, S). */
    private void checkTokenRange(String op, String tokensName, Tensor tokens, String meanName, Tensor mean, int from,
            int count) {
        Check.rank(op, tokensName, f32(op, tokensName, tokens), 3);
        long s = tokens.dim(1);
        if (count < 1 || from < 0 || (long) from + count > s) {
            throw Check.bad(op, "tokens [" + from + ", " + from + " + " + count + ") outside [0, " + s + ")");
        }
        Check.shape(op, meanName, f32(op, meanName, mean), tokens.dim(0), tokens.dim(2));
    }

    /** queries [B, D] and keys [M ≥ 1, D], f32 on this device, B and M·D within the 32-bit kernel sizes. */
    private void checkQueriesAndKeys(String op, Tensor queries, Tensor keys) {
        Check.rank(op, "queries", f32(op, "queries", queries), 2);
        Check.rank(op, "keys", f32(op, "keys", keys), 2);
        if (keys.dim(0) < 1 || keys.dim(1) != queries.dim(1)) {
            throw Check.bad(op, "keys " + keys + " must be [M ≥ 1, D = " + queries.dim(1) + "]");
        }
        Check.toInt(op, "queries element count", queries.numel());
        Check.toInt(op, "keys element count", keys.numel());
    }

    /** Reads an index tensor back to the host and checks every entry lies in [0, hi). */
    private void checkIndexTensor(String op, String name, Tensor idx, int hi) {
        int[] values = doReadInts(idx);
        Check.indices(op, name, values, values.length, 0, hi);
    }

    /** Runs an op's kernel, through the profiler when it is active. */
    private void dispatch(String op, Runnable kernel, Supplier<String> shapes, long bytes) {
        if (profiler.active) run(op, kernel, () -> info(op, shapes, bytes, 0));
        else kernel.run();
    }

    // ------------------------------------------------------------------ profiling

    /** Runs an op's kernel while the profiler is active: timed, and recorded if outermost. */
    private void run(String op, Runnable kernel, Supplier<Profiler.OpInfo> info) {
        long t = profiler.begin(op);
        try {
            kernel.run();
        } catch (RuntimeException | Error e) {
            profiler.abort();
            throw e;
        }
        profiler.end(t, op, t == Profiler.UNTIMED ? null : info.get());
    }

    /** As {@link #run} for an op with a result. */
    private <T> T call(String op, Supplier<T> kernel, Supplier<Profiler.OpInfo> info) {
        long t = profiler.begin(op);
        T result;
        try {
            result = kernel.get();
        } catch (RuntimeException | Error e) {
            profiler.abort();
            throw e;
        }
        profiler.end(t, op, t == Profiler.UNTIMED ? null : info.get());
        return result;
    }

    /**
     * The figures of a call: the selected variant of labelOp ("-" if none), the operands' shapes
     * (formatted when the report is made, not per call), bytes and FLOPs.
     */
    private Profiler.OpInfo info(String labelOp, Supplier<String> shapes, long bytes, double flops) {
        return new Profiler.OpInfo(kernels.label(labelOp), shapes, bytes, flops);
    }

    /**
     * The attention variant a profile shows: the selected one, with the residual variant when
     * the unfused residual path is taken; backends that fall back to another kernel for some
     * inputs say so through {@link #attentionVariant}.
     */
    private String attentionLabel(AttentionInputs in) {
        OpKernel.Attention kernel = kernels.attentionKernel(in);
        if (kernel == UnfusedResidual.KERNEL) return attentionVariant(in) + "+residual:" + UnfusedResidual.VARIANT;
        return kernel != null ? kernels.selected("attention") : attentionVariant(in);
    }

    /**
     * The built-in attention kernel that runs for these inputs, for the profiler. The default is
     * the selected variant; a backend that runs another kernel for some inputs (the CUDA flash
     * kernels exist for some head dims only) overrides it.
     *
     * @param in the attention inputs
     * @return the variant's name
     */
    protected String attentionVariant(AttentionInputs in) {
        return kernels.label("attention");
    }

    private static String attentionShapes(AttentionInputs in) {
        StringBuilder sb = new StringBuilder(Profiler.shapes("q", in.q(), "k,v", in.k()));
        sb.append(" heads=").append(in.heads());
        if (in.prefixK() != null) sb.append(' ').append(Profiler.shapes("prefix", in.prefixK()));
        if (in.residual() != null) sb.append(' ').append(Profiler.shapes("residual", in.residual()));
        if (in.causal()) sb.append(" causal");
        if (in.q().dtype() != DType.F32) sb.append(' ').append(in.q().dtype());
        return sb.toString();
    }

    private static long attentionBytes(AttentionInputs in) {
        return Profiler.bytes(in.q(), in.k(), in.v(), in.prefixK(), in.prefixV(), in.residual());
    }

    /** Query–key pairs scored over all batch items and heads (causal masking counted). */
    private static double attentionPairs(AttentionInputs in) {
        double nq = in.queries(), perHead = nq * in.prefixLength()
                + (in.causal() ? nq * (nq + 1) / 2 : nq * in.keys());
        return perHead * in.heads() * in.batch();
    }

    private static String retrievalShapes(RetrievalInputs in) {
        return Profiler.shapes("queries", in.queries(), "keys", in.keys(), "A", in.modulation(), "P", in.prompts())
                + " seen=" + in.seen();
    }

    /** Queries, keys, and the rows of A and P a retrieval must read: the seen classes' and the selected ones. */
    private static long retrievalBytes(RetrievalInputs in) {
        long layers = in.layers();
        return Profiler.bytes(in.queries(), in.keys()) + 4L * layers * in.seen() * in.queryDim()
                + 4L * layers * in.batch() * in.promptDim();
    }

    // ------------------------------------------------------------------ implementation hooks

    /**
     * Allocates an uninitialised tensor; the arguments are checked.
     *
     * @param dtype a dtype this backend supports
     * @param shape the dimensions
     * @return the tensor
     */
    protected abstract Tensor allocate(DType dtype, long[] shape);
    /**
     * Writes values into a tensor of as many f32 elements.
     *
     * @param t the tensor
     * @param data the values
     */
    protected abstract void doWrite(Tensor t, float[] data);
    /**
     * Writes values into a tensor of as many i32 elements.
     *
     * @param t the tensor
     * @param data the values
     */
    protected abstract void doWrite(Tensor t, int[] data);
    /**
     * Reads an f32 or bf16 tensor as floats.
     *
     * @param t the tensor
     * @return its values
     */
    protected abstract float[] doReadFloats(Tensor t);
    /**
     * Reads an i32 tensor.
     *
     * @param t the tensor
     * @return its values
     */
    protected abstract int[] doReadInts(Tensor t);
    /**
     * Copies a tensor into one of the same shape and dtype.
     *
     * @param src the tensor to read
     * @param dst the tensor to overwrite
     */
    protected abstract void doCopy(Tensor src, Tensor dst);
    /**
     * Sets every byte of a tensor to zero.
     *
     * @param t the tensor
     */
    protected abstract void doZero(Tensor t);

    /**
     * Converts between f32 and bf16; backends without bf16 keep this default, which refuses.
     *
     * @param src the tensor to read
     * @param dst the tensor to overwrite, of the other dtype
     */
    protected void doConvert(Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("convert: " + name + " has no " + src.dtype() + "→" + dst.dtype());
    }

    /**
     * Implements {@link #gemm} on checked arguments.
     *
     * @param s sizes, transposes and batch strides
     * @param a left operand
     * @param b right operand
     * @param c output
     * @param alpha scale of the product
     * @param beta scale of the previous c
     */
    protected abstract void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta);
    /**
     * Implements {@link #addBias} on checked arguments.
     *
     * @param x the tensor to add to
     * @param bias the bias
     */
    protected abstract void doAddBias(Tensor x, Tensor bias);
    /**
     * Implements {@link #addBiasActivation} on checked arguments. The default is the plain
     * composition (bias pass, then activation pass), which is also its reference; backends with a
     * fused kernel override it.
     *
     * @param act the activation
     * @param x the pre-bias input, in place
     * @param bias the bias
     * @param y output (may be x)
     */
    protected void doAddBiasActivation(Activation act, Tensor x, Tensor bias, Tensor y) {
        doAddBias(x, bias);
        doActivation(act, x, y);
    }

    /**
     * Implements {@link #axpy} on checked arguments.
     *
     * @param y the tensor to update
     * @param x the tensor to add
     * @param alpha the factor of x
     */
    protected abstract void doAxpy(Tensor y, Tensor x, float alpha);
    /**
     * Implements {@link #layerNorm} on checked arguments.
     *
     * @param x input
     * @param gamma scale
     * @param beta shift
     * @param eps added to the variance
     * @param y output
     * @param mean per-row means
     * @param rstd per-row reciprocal standard deviations
     */
    protected abstract void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean,
            Tensor rstd);
    /**
     * Implements {@link #layerNormBackward} on checked arguments.
     *
     * @param dy gradient of the output
     * @param x the forward's input
     * @param gamma the forward's scale
     * @param mean the forward's means
     * @param rstd the forward's reciprocal standard deviations
     * @param dx gradient of the input
     * @param dgamma gradient of gamma to accumulate into, or null
     * @param dbeta gradient of beta to accumulate into, or null
     */
    protected abstract void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
            Tensor dx, Tensor dgamma, Tensor dbeta);
    /**
     * Implements {@link #activation} on checked arguments.
     *
     * @param act the activation
     * @param x input
     * @param y output
     */
    protected abstract void doActivation(Activation act, Tensor x, Tensor y);
    /**
     * Implements {@link #activationBackward} on checked arguments.
     *
     * @param act the activation
     * @param x the forward's input
     * @param dy gradient of the output
     * @param dx gradient of the input
     */
    protected abstract void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx);
    /**
     * Implements {@link #softmax} on checked arguments.
     *
     * @param x input
     * @param y output
     */
    protected abstract void doSoftmax(Tensor x, Tensor y);
    /**
     * Implements {@link #softmaxBackward} on checked arguments.
     *
     * @param y the forward's output
     * @param dy gradient of the output
     * @param dx gradient of the input
     */
    protected abstract void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx);
    /**
     * The rows of a tensor read as a matrix over its last dimension (every dimension but the last,
     * multiplied out), as the row-wise kernels take it.
     *
     * @param t a tensor of rank ≥ 1
     * @return numel / last dimension (0 for an empty tensor)
     */
    protected static long rows(Tensor t) {
        return t.numel() / Math.max(t.dim(-1), 1);
    }

    /**
     * Implements {@link #attention} on checked arguments (the residual, if any, included).
     *
     * @param in the attention inputs
     * @param out output
     * @param lse log-sum-exp per query row
     */
    protected abstract void doAttention(AttentionInputs in, Tensor out, Tensor lse);
    /**
     * Implements {@link #attentionBackward} on checked arguments.
     *
     * @param in the forward's inputs
     * @param out the forward's output
     * @param lse the forward's log-sum-exp
     * @param dOut gradient of the output
     * @param g the gradients to overwrite
     */
    protected abstract void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut,
            AttentionGrads g);
    /**
     * Implements {@link #embeddingGather} on checked arguments.
     *
     * @param table the table
     * @param ids the rows to read
     * @param out the gathered rows
     */
    protected abstract void doEmbeddingGather(Tensor table, int[] ids, Tensor out);
    /**
     * Implements {@link #embeddingScatterAdd} on checked arguments.
     *
     * @param dOut gradient of the gathered rows
     * @param ids the rows they were read from
     * @param dTable gradient of the table, accumulated into
     */
    protected abstract void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable);
    /**
     * Implements {@link #tokenSum} on checked arguments.
     *
     * @param x input
     * @param out the sums
     */
    protected abstract void doTokenSum(Tensor x, Tensor out);
    /**
     * Implements {@link #tokenGather} on checked arguments.
     *
     * @param x input
     * @param idx one token per batch item
     * @param out the picked rows
     */
    protected abstract void doTokenGather(Tensor x, int[] idx, Tensor out);
    /**
     * Implements {@link #tokenScatterAdd} on checked arguments.
     *
     * @param dOut gradient of the picked rows
     * @param idx the token each row was picked from
     * @param dx gradient of the input, accumulated into
     */
    protected abstract void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx);
    /**
     * Implements {@link #patchify} on checked arguments.
     *
     * @param images input
     * @param patch the patch side
     * @param patches output
     */
    protected abstract void doPatchify(Tensor images, int patch, Tensor patches);
    /**
     * Implements {@link #unpatchify} on checked arguments.
     *
     * @param dPatches gradient of the patches
     * @param patch the patch side
     * @param dImages gradient of the images
     */
    protected abstract void doUnpatchify(Tensor dPatches, int patch, Tensor dImages);
    /**
     * Implements {@link #crossEntropy} on checked arguments.
     *
     * @param logits scores
     * @param labels the labels
     * @param lo first class taking part
     * @param hi end of the classes taking part
     * @param dlogits gradient to overwrite, or null
     * @return the mean loss
     */
    protected abstract float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits);
    /**
     * Implements {@link #adamStep} on checked arguments.
     *
     * @param param the parameter
     * @param grad its gradient
     * @param m first moment
     * @param v second moment
     * @param cfg hyper-parameters
     * @param step the step number, from 1
     */
    protected abstract void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, int step);
    /**
     * Implements {@link #sgdStep} on checked arguments.
     *
     * @param param the parameter
     * @param grad its gradient
     * @param lr the learning rate
     * @param weightDecay the L2 factor
     */
    protected abstract void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay);
    /**
     * Implements {@link #retrieval} on checked arguments.
     *
     * @param in the retrieval inputs
     * @param sims similarities
     * @param sel selected classes
     * @param sp selected, weighted prompts
     */
    protected abstract void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp);
    /**
     * Implements {@link #retrievalBackward} on checked arguments.
     *
     * @param in the forward's inputs
     * @param sims the forward's similarities
     * @param sel the forward's selection
     * @param dsp gradient of the selected prompts
     * @param past classes below this get no gradient
     * @param dA gradient of the modulation logits
     * @param dP gradient of the prompt pools
     */
    protected abstract void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past,
            Tensor dA, Tensor dP);

    /**
     * Implements {@link #componentWeighting} on checked arguments.
     *
     * @param in the inputs
     * @param alpha the weights [L, B, f], overwritten
     * @param out the weighted sums [L, B, R], overwritten
     */
    protected abstract void doComponentWeighting(ComponentInputs in, Tensor alpha, Tensor out);
    /**
     * Implements {@link #componentWeightingBackward} on checked arguments.
     *
     * @param in the forward's inputs
     * @param dOut gradient of the weighted sums
     * @param from first trained component
     * @param dKeys gradient of K, overwritten
     * @param dAttention gradient of A, overwritten
     * @param dComponents gradient of P, overwritten
     */
    protected abstract void doComponentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
            Tensor dAttention, Tensor dComponents);

    /**
     * Implements {@link #cosineMatch} on checked arguments.
     *
     * @param queries the queries [B, D]
     * @param keys the keys [M, D]
     * @param topN keys chosen per row
     * @param batchwise whether the batch votes one choice
     * @param scores the similarities [B, M]
     * @param selected the chosen indices [B, topN]
     */
    protected abstract void doCosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
            Tensor selected);
    /**
     * Implements {@link #cosineMatchBackward} on checked arguments (indices in range).
     *
     * @param queries the queries [B, D]
     * @param keys the keys [M, D]
     * @param selected the chosen indices [B, N]
     * @param dSelected the gradient of each chosen score [B, N]
     * @param dKeys gradient of the keys, overwritten
     * @param dQueries gradient of the queries, overwritten, or null
     */
    protected abstract void doCosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
            Tensor dKeys, Tensor dQueries);
    /**
     * Implements {@link #promptConcat} on checked arguments (indices in range).
     *
     * @param tokens the embedded sequence [B, T, D]
     * @param pool the prompt pool [M, L, D]
     * @param selected the prompts of each sample [B, N]
     * @param shift added to every prompt row [D], or null
     * @param out the prompted sequence [B, T + N·L, D]
     */
    protected abstract void doPromptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out);
    /**
     * Implements {@link #promptConcatBackward} on checked arguments (indices in range).
     *
     * @param dOut gradient of the prompted sequence
     * @param selected the forward's selection [B, N]
     * @param dPool gradient of the pool, overwritten
     * @param dTokens gradient of the tokens, overwritten, or null
     */
    protected abstract void doPromptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens);
    /**
     * Implements {@link #tokenRangeMean} on checked arguments.
     *
     * @param x the tokens [B, S, D]
     * @param from the first token of the range
     * @param count how many tokens
     * @param out the means [B, D]
     */
    protected abstract void doTokenRangeMean(Tensor x, int from, int count, Tensor out);
    /**
     * Implements {@link #tokenRangeMeanBackward} on checked arguments.
     *
     * @param dOut gradient of the means [B, D]
     * @param from the first token of the range
     * @param count how many tokens
     * @param dx gradient of the tokens [B, S, D], overwritten
     */
    protected abstract void doTokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx);
}
