package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;

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
    private volatile boolean closed;

    protected Backend(String name, Device device, KernelRegistry kernels) {
        this.name = name;
        this.device = device;
        this.kernels = kernels;
    }

    /** "reference", "cpu" or "cuda". */
    public final String name() {
        return name;
    }

    public final Device device() {
        return device;
    }

    /** Kernel variants per op, and which one is selected. */
    public final KernelRegistry kernels() {
        return kernels;
    }

    /** Whether tensors of this dtype can be allocated here. */
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

    /** Whether {@link #close} was called. */
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

    /** Throws IllegalStateException naming the op if the backend is closed. */
    protected final void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": the " + name + " backend is closed");
    }

    @Override
    public String toString() {
        return name + " backend (" + kernels + ")";
    }

    // ------------------------------------------------------------------ memory

    /** Uninitialised tensor. */
    public final Tensor empty(DType dtype, long... shape) {
        return allocateChecked("empty", dtype, shape);
    }

    /** Uninitialised f32 tensor. */
    public final Tensor empty(long... shape) {
        return allocateChecked("empty", DType.F32, shape);
    }

    /** Zero-filled f32 tensor. */
    public final Tensor zeros(long... shape) {
        return zeros(DType.F32, shape);
    }

    /** Zero-filled tensor of the dtype. */
    public final Tensor zeros(DType dtype, long... shape) {
        Tensor t = allocateChecked("zeros", dtype, shape);
        doZero(t);
        return t;
    }

    /** A new f32 tensor holding data (data.length must equal the shape's element count). */
    public final Tensor fromArray(float[] data, long... shape) {
        ensureOpen("fromArray");
        if (data == null) throw Check.bad("fromArray", "data is null");
        checkLength("fromArray", data.length, shape);
        Tensor t = allocateChecked("fromArray", DType.F32, shape);
        doWrite(t, data);
        return t;
    }

    /** A new i32 tensor holding data. */
    public final Tensor fromArray(int[] data, long... shape) {
        ensureOpen("fromArray");
        if (data == null) throw Check.bad("fromArray", "data is null");
        checkLength("fromArray", data.length, shape);
        Tensor t = allocateChecked("fromArray", DType.I32, shape);
        doWrite(t, data);
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

    /** Copies the values of an f32 or bf16 tensor to a float array. */
    public final float[] toFloatArray(Tensor t) {
        ensureHere("toFloatArray", "t", t);
        if (t.dtype() == DType.I32) throw Check.bad("toFloatArray", t + " is an index tensor");
        Check.toInt("toFloatArray", "element count", t.numel());
        return doReadFloats(t);
    }

    /** Copies the values of an i32 tensor to an int array. */
    public final int[] toIntArray(Tensor t) {
        ensureOpen("toIntArray");
        Check.tensor("toIntArray", "t", t, device, DType.I32);
        Check.toInt("toIntArray", "element count", t.numel());
        return doReadInts(t);
    }

    /** dst ← src (same shape and dtype). */
    public final void copy(Tensor src, Tensor dst) {
        ensureHere("copy", "src", src);
        Check.tensor("copy", "dst", dst, device, src.dtype());
        Check.sameShape("copy", "src", src, "dst", dst);
        doCopy(src, dst);
    }

    /** dst ← src converted between f32 and bf16 (same shape). */
    public final void convert(Tensor src, Tensor dst) {
        ensureHere("convert", "src", src);
        ensureHere("convert", "dst", dst);
        Check.sameShape("convert", "src", src, "dst", dst);
        if (src.dtype() == DType.I32 || dst.dtype() == DType.I32) throw Check.bad("convert", "only f32 and bf16");
        if (src.dtype() == dst.dtype()) doCopy(src, dst);
        else doConvert(src, dst);
    }

    /** t ← 0 */
    public final void zero(Tensor t) {
        ensureHere("zero", "t", t);
        doZero(t);
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

    /** As {@link #f32}, and at least rank 1 (the op works along the last dimension). */
    private Tensor f32Rows(String op, String name, Tensor t) {
        f32(op, name, t);
        if (t.rank() == 0) throw Check.bad(op, name + " " + t + " is a scalar; the op needs a last dimension");
        return t;
    }

    // ------------------------------------------------------------------ dense algebra

    /**
     * c ← alpha·op(a)·op(b) + beta·c, op = transpose when the flag is set. a is [m,k] ([k,m]
     * transposed) or batched [n,m,k]; b is [k,n] ([n,k]) or batched; c is [m,n] or [batch,m,n].
     * A 2-D operand is shared by every batch item.
     */
    public final void gemm(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        String op = "gemm";
        f32(op, "a", a);
        f32(op, "b", b);
        f32(op, "c", c);
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
        doGemm(new GemmShape((int) m, (int) n, (int) k, (int) batch, transA, transB,
                a.rank() == 3 ? m * k : 0, b.rank() == 3 ? k * n : 0, m * n), a, b, c, alpha, beta);
    }

    /** Sizes of one (batched) GEMM; strides are elements between batch items (0 = shared). */
    public record GemmShape(int m, int n, int k, int batch, boolean transA, boolean transB, long strideA,
            long strideB, long strideC) {}

    /** x[..., j] += bias[j] over the last dimension. */
    public final void addBias(Tensor x, Tensor bias) {
        f32Rows("addBias", "x", x);
        f32("addBias", "bias", bias);
        Check.shape("addBias", "bias", bias, x.dim(-1));
        doAddBias(x, bias);
    }

    /** y ← y + alpha·x (same shape). */
    public final void axpy(Tensor y, Tensor x, float alpha) {
        f32("axpy", "y", y);
        f32("axpy", "x", x);
        Check.sameShape("axpy", "y", y, "x", x);
        doAxpy(y, x, alpha);
    }

    // ------------------------------------------------------------------ normalisation, activations

    /** LayerNorm over the last dim; mean and rstd get one value per row (saved for the backward). */
    public final void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
        String op = "layerNorm";
        f32Rows(op, "x", x);
        long cols = x.dim(-1);
        long rows = x.numel() / Math.max(cols, 1);
        Check.shape(op, "gamma", f32(op, "gamma", gamma), cols);
        Check.shape(op, "beta", f32(op, "beta", beta), cols);
        Check.sameShape(op, "x", x, "y", f32(op, "y", y));
        Check.shape(op, "mean", f32(op, "mean", mean).reshape(mean.numel()), rows);
        Check.shape(op, "rstd", f32(op, "rstd", rstd).reshape(rstd.numel()), rows);
        if (!(eps > 0)) throw Check.bad(op, "eps must be positive, got " + eps);
        doLayerNorm(x, gamma, beta, eps, y, mean, rstd);
    }

    /** dx ← LayerNorm backward; dgamma, dbeta (nullable) are accumulated into. */
    public final void layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
            Tensor dgamma, Tensor dbeta) {
        String op = "layerNormBackward";
        f32Rows(op, "x", x);
        long cols = x.dim(-1);
        long rows = x.numel() / Math.max(cols, 1);
        Check.sameShape(op, "dy", f32(op, "dy", dy), "x", x);
        Check.sameShape(op, "dx", f32(op, "dx", dx), "x", x);
        Check.shape(op, "gamma", f32(op, "gamma", gamma), cols);
        Check.shape(op, "mean", f32(op, "mean", mean).reshape(mean.numel()), rows);
        Check.shape(op, "rstd", f32(op, "rstd", rstd).reshape(rstd.numel()), rows);
        if (dgamma != null) Check.shape(op, "dgamma", f32(op, "dgamma", dgamma), cols);
        if (dbeta != null) Check.shape(op, "dbeta", f32(op, "dbeta", dbeta), cols);
        doLayerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
    }

    /** y ← act(x); y may be x. */
    public final void activation(Activation act, Tensor x, Tensor y) {
        f32("activation", "x", x);
        Check.sameShape("activation", "x", x, "y", f32("activation", "y", y));
        if (act == null) throw Check.bad("activation", "act is null");
        doActivation(act, x, y);
    }

    /** dx ← act'(x)·dy. */
    public final void activationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        String op = "activationBackward";
        f32(op, "x", x);
        Check.sameShape(op, "x", x, "dy", f32(op, "dy", dy));
        Check.sameShape(op, "x", x, "dx", f32(op, "dx", dx));
        if (act == null) throw Check.bad(op, "act is null");
        doActivationBackward(act, x, dy, dx);
    }

    /** Softmax over the last dim; y may be x. */
    public final void softmax(Tensor x, Tensor y) {
        f32Rows("softmax", "x", x);
        Check.sameShape("softmax", "x", x, "y", f32("softmax", "y", y));
        doSoftmax(x, y);
    }

    /** dx ← y ⊙ (dy − ⟨dy, y⟩) row-wise, from the softmax output y. */
    public final void softmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        String op = "softmaxBackward";
        f32Rows(op, "y", y);
        Check.sameShape(op, "y", y, "dy", f32(op, "dy", dy));
        Check.sameShape(op, "y", y, "dx", f32(op, "dx", dx));
        doSoftmaxBackward(y, dy, dx);
    }

    // ------------------------------------------------------------------ attention

    /** out [B,Nq,H·hd] ← attention; lse [B,H,Nq] saved for the backward. */
    public final void attention(AttentionInputs in, Tensor out, Tensor lse) {
        String op = "attention";
        DType dt = checkAttention(op, in);
        Check.sameShape(op, "out", Check.tensor(op, "out", out, device, dt), "q", in.q());
        Check.shape(op, "lse", Check.tensor(op, "lse", lse, device, DType.F32), in.batch(), in.heads(), in.queries());
        if (unfusedResidual(op, in)) {
            doAttention(in.withoutResidual(), out, lse);
            addToEveryToken(out, in.residual(), 1f);
        } else {
            doAttention(in, out, lse);
        }
    }

    /**
     * The {@code residual=naive} kernel choice: the value residual as its own passes over the
     * B×N×D output (a broadcast add after attention, a token sum in the backward) instead of
     * the attention kernels' fused epilogue. Kept for comparison and profiling.
     */
    private boolean unfusedResidual(String op, AttentionInputs in) {
        if (in.residual() == null || !kernels.variants().containsKey("residual")
                || !kernels.selected("residual").equals("naive")) {
            return false;
        }
        if (in.q().dtype() != DType.F32) throw Check.bad(op, "residual=naive supports f32 only");
        return true;
    }

    /** out[b, n, :] += alpha·r[b, :] for every token n, as a batched rank-1 GEMM. */
    private void addToEveryToken(Tensor out, Tensor r, float alpha) {
        long b = out.dim(0), n = out.dim(1), w = out.dim(2);
        float[] ones = new float[Math.toIntExact(n)];
        java.util.Arrays.fill(ones, 1f);
        try (Tensor column = fromArray(ones, n, 1)) {
            doGemm(new GemmShape((int) n, (int) w, 1, (int) b, false, false, 0, w, n * w), column, r, out, alpha, 1f);
        }
    }

    /** Attention backward from the forward's out and lse and the upstream gradient dOut. */
    public final void attentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        String op = "attentionBackward";
        DType dt = checkAttention(op, in);
        Check.sameShape(op, "out", Check.tensor(op, "out", out, device, dt), "q", in.q());
        Check.sameShape(op, "dOut", Check.tensor(op, "dOut", dOut, device, dt), "q", in.q());
        Check.shape(op, "lse", Check.tensor(op, "lse", lse, device, DType.F32), in.batch(), in.heads(), in.queries());
        if (g == null) throw Check.bad(op, "grads is null");
        gradLike(op, "dq", g.dq(), "q", in.q(), dt);
        gradLike(op, "dk", g.dk(), "k", in.k(), dt);
        gradLike(op, "dv", g.dv(), "v", in.v(), dt);
        gradLike(op, "dPrefixK", g.dPrefixK(), "prefixK", in.prefixK(), dt);
        gradLike(op, "dPrefixV", g.dPrefixV(), "prefixV", in.prefixV(), dt);
        gradLike(op, "dResidual", g.dResidual(), "residual", in.residual(), dt);
        if (unfusedResidual(op, in)) {
            try (Tensor attnOut = empty(out.shape())) {
                doCopy(out, attnOut);
                addToEveryToken(attnOut, in.residual(), -1f);
                doAttentionBackward(in.withoutResidual(), attnOut, lse, dOut,
                        new AttentionGrads(g.dq(), g.dk(), g.dv(), g.dPrefixK(), g.dPrefixV(), null));
            }
            doTokenSum(dOut, g.dResidual());
        } else {
            doAttentionBackward(in, out, lse, dOut, g);
        }
    }

    /** A gradient output must be present exactly when its input is, and shaped like it. */
    private void gradLike(String op, String name, Tensor grad, String inputName, Tensor input, DType dt) {
        if (grad == null) {
            if (input != null) throw Check.bad(op, name + " is required since " + inputName + " is given");
            return;
        }
        if (input == null) throw Check.bad(op, name + " given but " + inputName + " is absent");
        Check.sameShape(op, name, Check.tensor(op, name, grad, device, dt), inputName, input);
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
            Check.tensor(op, "prefixK", in.prefixK(), device, dt);
            Check.tensor(op, "prefixV", in.prefixV(), device, dt);
            Check.rank(op, "prefixK", in.prefixK(), 3);
            Check.shape(op, "prefixK", in.prefixK(), b, in.prefixK().dim(1), width);
            Check.sameShape(op, "prefixK", in.prefixK(), "prefixV", in.prefixV());
        }
        if (in.residual() != null) Check.shape(op, "residual", Check.tensor(op, "residual", in.residual(), device, dt), b, width);
        if (in.causal() && in.keys() != in.queries()) {
            throw Check.bad(op, "causal attention needs as many keys (" + in.keys() + ") as queries (" + in.queries() + ")");
        }
        if (in.keys() + in.prefixLength() == 0) throw Check.bad(op, "no keys");
        if (!(in.scale() > 0) || Float.isInfinite(in.scale())) throw Check.bad(op, "scale must be positive and finite");
        return dt;
    }

    // ------------------------------------------------------------------ gathers, reductions

    /** out[i] ← table[ids[i]]; table [V, D], out [ids.length, D]. */
    public final void embeddingGather(Tensor table, int[] ids, Tensor out) {
        String op = "embeddingGather";
        f32(op, "table", table);
        Check.rank(op, "table", table, 2);
        Check.indices(op, "ids", ids, ids == null ? 0 : ids.length, 0, Check.toInt(op, "vocab", table.dim(0)));
        Check.shape(op, "out", f32(op, "out", out), ids.length, table.dim(1));
        doEmbeddingGather(table, ids, out);
    }

    /** dTable[ids[i]] += dOut[i]. */
    public final void embeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
        String op = "embeddingScatterAdd";
        f32(op, "dTable", dTable);
        Check.rank(op, "dTable", dTable, 2);
        Check.indices(op, "ids", ids, ids == null ? 0 : ids.length, 0, Check.toInt(op, "vocab", dTable.dim(0)));
        Check.shape(op, "dOut", f32(op, "dOut", dOut), ids.length, dTable.dim(1));
        doEmbeddingScatterAdd(dOut, ids, dTable);
    }

    /** out[b] ← Σ_n x[b, n]; x [B, N, D], out [B, D]. */
    public final void tokenSum(Tensor x, Tensor out) {
        f32("tokenSum", "x", x);
        Check.rank("tokenSum", "x", x, 3);
        Check.shape("tokenSum", "out", f32("tokenSum", "out", out), x.dim(0), x.dim(2));
        doTokenSum(x, out);
    }

    /** out[b] ← x[b, idx[b]] (CLS or EOS pooling). */
    public final void tokenGather(Tensor x, int[] idx, Tensor out) {
        String op = "tokenGather";
        f32(op, "x", x);
        Check.rank(op, "x", x, 3);
        Check.shape(op, "out", f32(op, "out", out), x.dim(0), x.dim(2));
        Check.indices(op, "idx", idx, (int) x.dim(0), 0, (int) x.dim(1));
        doTokenGather(x, idx, out);
    }

    /** dx[b, idx[b]] += dOut[b]. */
    public final void tokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
        String op = "tokenScatterAdd";
        f32(op, "dx", dx);
        Check.rank(op, "dx", dx, 3);
        Check.shape(op, "dOut", f32(op, "dOut", dOut), dx.dim(0), dx.dim(2));
        Check.indices(op, "idx", idx, (int) dx.dim(0), 0, (int) dx.dim(1));
        doTokenScatterAdd(dOut, idx, dx);
    }

    /**
     * images [B, C, S, S] → patches [B, 1 + G², C·p·p] (G = S/p): row 1 + gy·G + gx holds patch
     * (gy, gx) in (channel, ky, kx) order, the conv weight's layout; row 0 (class-token slot) is zero.
     */
    public final void patchify(Tensor images, int patch, Tensor patches) {
        String op = "patchify";
        long[] g = patchGeometry(op, f32(op, "images", images), patch);
        Check.shape(op, "patches", f32(op, "patches", patches), g[0], g[1], g[2]);
        doPatchify(images, patch, patches);
    }

    /** Adjoint of {@link #patchify}: dImages [B, C, S, S] overwritten from dPatches (row 0 ignored). */
    public final void unpatchify(Tensor dPatches, int patch, Tensor dImages) {
        String op = "unpatchify";
        long[] g = patchGeometry(op, f32(op, "dImages", dImages), patch);
        Check.shape(op, "dPatches", f32(op, "dPatches", dPatches), g[0], g[1], g[2]);
        doUnpatchify(dPatches, patch, dImages);
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
        return doCrossEntropy(logits, labels, lo, hi, dlogits);
    }

    /** One Adam step on param with moments m, v (all the shape of param); step counts from 1. */
    public final void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, int step) {
        String op = "adamStep";
        f32(op, "param", param);
        Check.sameShape(op, "param", param, "grad", f32(op, "grad", grad));
        Check.sameShape(op, "param", param, "m", f32(op, "m", m));
        Check.sameShape(op, "param", param, "v", f32(op, "v", v));
        if (step < 1) throw Check.bad(op, "step must be ≥ 1, got " + step);
        if (cfg == null) throw Check.bad(op, "config is null");
        doAdamStep(param, grad, m, v, cfg, step);
    }

    /** param ← param − lr·(grad + weightDecay·param). */
    public final void sgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
        f32("sgdStep", "param", param);
        Check.sameShape("sgdStep", "param", param, "grad", f32("sgdStep", "grad", grad));
        doSgdStep(param, grad, lr, weightDecay);
    }

    // ------------------------------------------------------------------ STAR-Prompt retrieval

    /**
     * Per layer l and sample b: sims[l,b,c] = 5·cos(q_b ⊙ softmax(A[l,c]), k_c) for c < seen,
     * sel[l,b] = argmax, sp[l,b] = w·P[l, sel] with w = sims[l,b,sel] (or 1 without modulation).
     * sims [L,B,seen] f32, sel [L,B] i32, sp [L,B,dp] f32.
     */
    public final void retrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        String op = "retrieval";
        checkRetrieval(op, in);
        Check.shape(op, "sims", f32(op, "sims", sims), in.layers(), in.batch(), in.seen());
        Check.shape(op, "sel", Check.tensor(op, "sel", sel, device, DType.I32), in.layers(), in.batch());
        Check.shape(op, "sp", f32(op, "sp", sp), in.layers(), in.batch(), in.promptDim());
        doRetrieval(in, sims, sel, sp);
    }

    /**
     * Gradients of the retrieval given dsp [L,B,dp]: dA [L,C,d] and dP [L,C,dp] are overwritten;
     * only rows of selected current classes (past ≤ c < seen) are non-zero.
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
        doRetrievalBackward(in, sims, sel, dsp, past, dA, dP);
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

    // ------------------------------------------------------------------ implementation hooks

    protected abstract Tensor allocate(DType dtype, long[] shape);
    protected abstract void doWrite(Tensor t, float[] data);
    protected abstract void doWrite(Tensor t, int[] data);
    protected abstract float[] doReadFloats(Tensor t);
    protected abstract int[] doReadInts(Tensor t);
    protected abstract void doCopy(Tensor src, Tensor dst);
    protected abstract void doZero(Tensor t);

    protected void doConvert(Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("convert: " + name + " has no " + src.dtype() + "→" + dst.dtype());
    }

    protected abstract void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta);
    protected abstract void doAddBias(Tensor x, Tensor bias);
    protected abstract void doAxpy(Tensor y, Tensor x, float alpha);
    protected abstract void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean,
            Tensor rstd);
    protected abstract void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
            Tensor dx, Tensor dgamma, Tensor dbeta);
    protected abstract void doActivation(Activation act, Tensor x, Tensor y);
    protected abstract void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx);
    protected abstract void doSoftmax(Tensor x, Tensor y);
    protected abstract void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx);
    protected abstract void doAttention(AttentionInputs in, Tensor out, Tensor lse);
    protected abstract void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut,
            AttentionGrads g);
    protected abstract void doEmbeddingGather(Tensor table, int[] ids, Tensor out);
    protected abstract void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable);
    protected abstract void doTokenSum(Tensor x, Tensor out);
    protected abstract void doTokenGather(Tensor x, int[] idx, Tensor out);
    protected abstract void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx);
    protected abstract void doPatchify(Tensor images, int patch, Tensor patches);
    protected abstract void doUnpatchify(Tensor dPatches, int patch, Tensor dImages);
    protected abstract float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits);
    protected abstract void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, int step);
    protected abstract void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay);
    protected abstract void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp);
    protected abstract void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past,
            Tensor dA, Tensor dP);
}
