package io.starprompt.backend.cuda;

import static io.starprompt.nativeapi.NativeLib.check;
import static io.starprompt.nativeapi.StarPromptNative.*;

import io.starprompt.backend.Activation;
import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.ComponentInputs;
import io.starprompt.backend.Backend;
import io.starprompt.backend.CachingAllocator;
import io.starprompt.backend.KernelRegistry;
import io.starprompt.backend.Profiler;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.backend.Staging;
import io.starprompt.nativeapi.NativeLib;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.RawPointer;
import io.starprompt.tensor.Storage;
import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Device backend: our CUDA kernels plus cuBLAS (through the JavaCPP CUDA presets), all on one
 * stream owned by this backend. Tensors are f32, bf16 or i32 in device memory. bf16 is a storage
 * form: every op computes in f32 and rounds on store into bf16. The pointwise, normalisation and
 * gather kernels take any mix of f32 and bf16 operands; matrix products take bf16 pairs in cuBLAS
 * (f32 accumulation) and stage the other mixes through f32 ({@link Staging}); attention runs its
 * bf16 kernels when every operand is bf16 and stages mixed operands through the f32 kernels.
 * Selectable kernels: gemm = cublas | naive, attention = flash | naive, retrieval = fused | naive,
 * residual = fused | naive. The flash attention kernels exist for head dims 32 and 64; other
 * head dims (the tiny golden models) run the naive attention kernels whatever the selection.
 *
 * <p>Use {@link #unavailableReason()} before constructing one: it probes once whether the
 * native library has CUDA kernels, a device is usable and cuBLAS loads.
 */
public final class CudaBackend extends Backend {
    private static volatile Optional<String> probe;

    private final Pointer stream;
    private final cublasContext cublasHandle;
    private final FloatPointer alphaBeta = new FloatPointer(2);
    private EventTiming eventTiming;
    private final CachingAllocator memory = new CachingAllocator("CUDA", CudaBackend::deviceMalloc,
            address -> sp_cuda_free(new RawPointer(address)));

    /** Creates a backend on device 0; throws IllegalStateException if CUDA is unusable. */
    public CudaBackend() {
        super("cuda", Device.CUDA, new KernelRegistry("cuda", variants()).applyProperties(System.getProperties()));
        unavailableReason().ifPresent(reason -> {
            throw new IllegalStateException("CUDA backend unavailable: " + reason);
        });
        check(sp_cuda_set_device(0), "cuda init");
        try (PointerPointer<?> out = new PointerPointer<>(1)) {
            check(sp_cuda_stream_create(out), "cuda init");
            stream = new RawPointer(out.get(0).address());
        }
        cublasHandle = new cublasContext();
        cublasStatus(cublas.cublasCreate_v2(cublasHandle), "cublasCreate");
        cublasStatus(cublas.cublasSetStream_v2(cublasHandle, new CUstream_st(stream)), "cublasSetStream");
    }

    static Map<String, List<String>> variants() {
        Map<String, List<String>> v = new LinkedHashMap<>();
        v.put("gemm", List.of("cublas", "naive"));
        v.put("attention", List.of("flash", "naive"));
        v.put("retrieval", List.of("fused", "naive"));
        v.put("residual", List.of("fused", "naive"));
        return v;
    }

    /**
     * Empty when CUDA can be used; otherwise why not. Probed once per JVM; never throws (a
     * missing driver surfaces as UnsatisfiedLinkError or NoClassDefFoundError, both caught).
     *
     * @return empty, or the reason CUDA is unusable
     */
    public static Optional<String> unavailableReason() {
        Optional<String> p = probe;
        if (p == null) {
            synchronized (CudaBackend.class) {
                if (probe == null) probe = runProbe();
                p = probe;
            }
        }
        return p;
    }

    private static Optional<String> runProbe() {
        try {
            NativeLib.load();
            if (sp_cuda_compiled() == 0) return Optional.of("the native library was built without CUDA");
            if (sp_cuda_device_count() <= 0) return Optional.of("no CUDA device or driver found");
            org.bytedeco.javacpp.Loader.load(cublas.class);
            return Optional.empty();
        } catch (Throwable t) {
            return Optional.of("CUDA libraries could not be loaded (" + t + ")");
        }
    }

    private static void cublasStatus(int status, String op) {
        if (status != 0) throw new IllegalStateException(op + " failed with cuBLAS status " + status);
    }

    @Override
    public boolean supports(DType dtype) {
        return true;
    }


    /** Waits for the stream; an IllegalStateException once the backend is closed (the stream is gone). */
    @Override
    public void synchronize() {
        ensureOpen("synchronize");
        check(sp_cuda_stream_synchronize(stream), "synchronize");
    }

    /** Live and cached device bytes, and how many blocks came from cudaMalloc. */
    @Override
    public MemoryStats memoryStats() {
        return memory.stats();
    }

    /**
     * The CUDA stream (cudaStream_t) all work of this backend is queued on.
     *
     * @return the stream's handle
     */
    public Pointer stream() {
        return stream;
    }

    /**
     * Times profiled ops by CUDA events recorded on this backend's stream before and after each
     * op, read when the report is made: no synchronisation per op.
     */
    @Override
    protected Profiler.Timing profilerTiming() {
        if (eventTiming == null) eventTiming = new EventTiming();
        return eventTiming;
    }

    /** The kernel that runs: flash kernels exist for head dims 32 and 64 only. */
    @Override
    protected String attentionVariant(AttentionInputs in) {
        String selected = kernels().selected("attention");
        if (!selected.equals("naive") && naiveAttention(in)) return "naive(hd=" + in.headDim() + ")";
        return selected;
    }

    /** A pool of CUDA events, two per profiled op, reused from one recording to the next. */
    private final class EventTiming implements Profiler.Timing {
        private final List<Pointer> events = new ArrayList<>();
        private int next;

        @Override
        public long mark() {
            if (next == events.size()) {
                try (PointerPointer<?> out = new PointerPointer<>(1)) {
                    check(sp_cuda_event_create(out), "profiler");
                    events.add(new RawPointer(out.get(0).address()));
                }
            }
            check(sp_cuda_event_record(events.get(next), stream), "profiler");
            return next++;
        }

        @Override
        public double elapsedMs(long from, long to) {
            try (FloatPointer ms = new FloatPointer(1)) {
                check(sp_cuda_event_elapsed_ms(events.get((int) from), events.get((int) to), ms), "profiler");
                return ms.get(0);
            }
        }

        @Override
        public void reset() {
            next = 0;
        }

        @Override
        public String description() {
            return "CUDA events recorded on the backend's stream before and after each op (no synchronisation per"
                    + " op); read, after a wait for the stream, when the report is made";
        }

        void destroy() {
            for (Pointer e : events) sp_cuda_event_destroy(e);
            events.clear();
        }
    }

    /** Synchronises, returns the cached device memory, destroys the cuBLAS handle and the stream. */
    @Override
    protected void release() {
        sp_cuda_stream_synchronize(stream);
        if (eventTiming != null) eventTiming.destroy();
        memory.close();
        cublas.cublasDestroy_v2(cublasHandle);
        sp_cuda_stream_destroy(stream);
        alphaBeta.close();
    }

    // ------------------------------------------------------------------ memory

    @Override
    protected Tensor allocate(DType dtype, long[] shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.bytes());
        Storage storage = new Storage(memory.allocate(bytes), bytes, Device.CUDA, memory::recycle);
        return Tensor.owning(storage, dtype, shape);
    }

    private static long deviceMalloc(long bytes) {
        try (PointerPointer<?> out = new PointerPointer<>(1)) {
            int status = sp_cuda_malloc(bytes, out);
            if (status == SP_ERR_ALLOC) return 0;
            check(status, "cuda allocate " + bytes + " bytes");
            return out.get(0).address();
        }
    }

    /** Returns the device memory cached for reuse (held since tensors were closed) to CUDA. */
    public void releaseCachedMemory() {
        synchronize();
        memory.release();
    }

    @Override
    protected void doWrite(Tensor t, float[] data) {
        try (FloatPointer host = new FloatPointer(data)) {
            check(sp_cuda_memcpy_h2d(t.pointer(), host, t.bytes(), stream), "upload");
            synchronize();
        }
    }

    @Override
    protected void doWrite(Tensor t, int[] data) {
        try (IntPointer host = new IntPointer(data)) {
            check(sp_cuda_memcpy_h2d(t.pointer(), host, t.bytes(), stream), "upload");
            synchronize();
        }
    }

    @Override
    protected float[] doReadFloats(Tensor t) {
        if (t.dtype() == DType.BF16) {
            try (Tensor f = empty(DType.F32, t.shape())) {
                doConvert(t, f);
                return doReadFloats(f);
            }
        }
        float[] out = new float[Math.toIntExact(t.numel())];
        try (FloatPointer host = new FloatPointer(out.length)) {
            download(t, host).get(out);
        }
        return out;
    }

    @Override
    protected int[] doReadInts(Tensor t) {
        int[] out = new int[Math.toIntExact(t.numel())];
        try (IntPointer host = new IntPointer(out.length)) {
            download(t, host).get(out);
        }
        return out;
    }

    /** Copies t's bytes into host memory and waits for them. */
    private <P extends Pointer> P download(Tensor t, P host) {
        check(sp_cuda_memcpy_d2h(host, t.pointer(), t.bytes(), stream), "download");
        synchronize();
        return host;
    }

    @Override
    protected void doCopy(Tensor src, Tensor dst) {
        check(sp_cuda_memcpy_d2d(dst.pointer(), src.pointer(), src.bytes(), stream), "copy");
    }

    @Override
    protected void doZero(Tensor t) {
        check(sp_cuda_memset_zero(t.pointer(), t.bytes(), stream), "zero");
    }

    @Override
    protected void doConvert(Tensor src, Tensor dst) {
        check(sp_cuda_convert(src.pointer(), src.dtype().nativeCode(), dst.pointer(), dst.dtype().nativeCode(),
                src.numel(), stream), "convert");
    }

    /** Device copy of an index array; freed by the caller (freeing waits for queued work). */
    private Tensor deviceInts(int[] values) {
        return fromArray(values, values.length);
    }

    private static FloatPointer fp(Tensor t) {
        return t == null ? null : t.floatPointer();
    }

    private static Pointer ptr(Tensor t) {
        return t == null ? null : t.pointer();
    }

    private boolean naive(String op) {
        return kernels().selected(op).equals("naive");
    }

    /** Head dims the flash kernels are instantiated for; other widths run the naive kernels. */
    private static final java.util.Set<Integer> FLASH_HEAD_DIMS = java.util.Set.of(32, 64);

    private boolean naiveAttention(AttentionInputs in) {
        return naive("attention") || !FLASH_HEAD_DIMS.contains(in.headDim());
    }

    // ------------------------------------------------------------------ ops

    /**
     * bf16 pairs go to cuBLAS as they are (f32 accumulation, C f32 or bf16); a pair cuBLAS does not
     * take (f32 with bf16, or f32 operands into a bf16 C) and the naive kernel run on f32 copies.
     */
    @Override
    protected void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        boolean cublasForm = a.dtype() == b.dtype() && (a.dtype() == DType.BF16 || c.dtype() == DType.F32);
        if (cublasForm && !naive("gemm")) {
            cublasGemm(s, a, b, c, alpha, beta);
            return;
        }
        try (Staging st = new Staging(this)) {
            Tensor a32 = st.input(a), b32 = st.input(b), c32 = beta != 0 ? st.inputOutput(c) : st.output(c);
            if (naive("gemm")) {
                check(sp_cuda_gemm_naive(s.transA() ? 1 : 0, s.transB() ? 1 : 0, s.m(), s.n(), s.k(), alpha,
                        a32.floatPointer(), s.strideA(), b32.floatPointer(), s.strideB(), beta, c32.floatPointer(),
                        s.strideC(), s.batch(), stream), "gemm");
            } else {
                cublasGemm(s, a32, b32, c32, alpha, beta);
            }
        }
    }

    /**
     * One strided-batched cuBLAS call; a and b share a dtype. All f32: sgemm, as before the bf16
     * forms. bf16 a and b: GemmEx with f32 compute into an f32 or a bf16 c.
     */
    private void cublasGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        if (s.m() == 0 || s.n() == 0) return;
        // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
        int opA = s.transA() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        int opB = s.transB() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        int lda = Math.max(1, s.transA() ? s.m() : s.k());
        int ldb = Math.max(1, s.transB() ? s.k() : s.n());
        int abType = cudaType(a.dtype()), cType = cudaType(c.dtype());
        // cuBLAS reads the host scalars during the call; the lock keeps two callers from mixing them.
        synchronized (alphaBeta) {
            alphaBeta.put(0, alpha).put(1, beta);
            FloatPointer alphaP = new FloatPointer(alphaBeta).position(0);
            FloatPointer betaP = new FloatPointer(alphaBeta).position(1);
            if (a.dtype() == DType.F32 && c.dtype() == DType.F32) {
                cublasStatus(cublas.cublasSgemmStridedBatched(cublasHandle, opB, opA, s.n(), s.m(), s.k(), alphaP,
                        b.floatPointer(), ldb, s.strideB(), a.floatPointer(), lda, s.strideA(), betaP, c.floatPointer(),
                        s.n(), s.strideC(), s.batch()), "gemm (cublasSgemmStridedBatched)");
                return;
            }
            cublasStatus(cublas.cublasGemmStridedBatchedEx(cublasHandle, opB, opA, s.n(), s.m(), s.k(), alphaP,
                    b.pointer(), abType, ldb, s.strideB(), a.pointer(), abType, lda, s.strideA(), betaP, c.pointer(),
                    cType, s.n(), s.strideC(), s.batch(), cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT),
                    "gemm (cublasGemmStridedBatchedEx, " + a.dtype() + " x " + b.dtype() + " -> " + c.dtype() + ")");
        }
    }

    private static int cudaType(DType dtype) {
        return dtype == DType.BF16 ? org.bytedeco.cuda.global.cudart.CUDA_R_16BF
                : org.bytedeco.cuda.global.cudart.CUDA_R_32F;
    }

    /** The native dtype code of a float operand; an absent (null) operand is passed as f32. */
    private static int dt(Tensor t) {
        return t == null ? DType.F32.nativeCode() : t.dtype().nativeCode();
    }

    private static int actCode(Activation act) {
        return act == Activation.GELU ? SP_ACT_GELU : SP_ACT_QUICKGELU;
    }

    @Override
    protected void doAddBias(Tensor x, Tensor bias) {
        check(sp_cuda_add_bias_dt(x.pointer(), dt(x), bias.pointer(), dt(bias), rows(x), x.dim(-1), stream),
                "addBias");
    }

    @Override
    protected void doAddBiasActivation(Activation act, Tensor x, Tensor bias, Tensor y) {
        check(sp_cuda_bias_act_fwd_dt(actCode(act), x.pointer(), dt(x), bias.pointer(), dt(bias), y.pointer(), dt(y),
                rows(x), x.dim(-1), stream), "addBiasActivation");
    }

    @Override
    protected void doAxpy(Tensor y, Tensor x, float alpha) {
        check(sp_cuda_axpy_dt(y.pointer(), dt(y), x.pointer(), dt(x), alpha, y.numel(), stream), "axpy");
    }

    @Override
    protected void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
        check(sp_cuda_layernorm_fwd_dt(x.pointer(), dt(x), gamma.pointer(), dt(gamma), beta.pointer(), dt(beta), eps,
                y.pointer(), dt(y), mean.floatPointer(), rstd.floatPointer(), rows(x), x.dim(-1), stream), "layerNorm");
    }

    @Override
    protected void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
            Tensor dgamma, Tensor dbeta) {
        check(sp_cuda_layernorm_bwd_dt(dy.pointer(), dt(dy), x.pointer(), dt(x), gamma.pointer(), dt(gamma),
                mean.floatPointer(), rstd.floatPointer(), dx.pointer(), dt(dx), fp(dgamma), fp(dbeta), rows(x),
                x.dim(-1), stream), "layerNormBackward");
    }

    @Override
    protected void doActivation(Activation act, Tensor x, Tensor y) {
        check(sp_cuda_activation_fwd_dt(actCode(act), x.pointer(), dt(x), y.pointer(), dt(y), x.numel(), stream),
                "activation");
    }

    @Override
    protected void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        check(sp_cuda_activation_bwd_dt(actCode(act), x.pointer(), dt(x), dy.pointer(), dt(dy), dx.pointer(), dt(dx),
                x.numel(), stream), "activationBackward");
    }

    @Override
    protected void doSoftmax(Tensor x, Tensor y) {
        check(sp_cuda_softmax_fwd_dt(x.pointer(), dt(x), y.pointer(), dt(y), rows(x), x.dim(-1), stream), "softmax");
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        check(sp_cuda_softmax_bwd_dt(y.pointer(), dt(y), dy.pointer(), dt(dy), dx.pointer(), dt(dx), rows(y),
                y.dim(-1), stream), "softmaxBackward");
    }

    /** One dtype for every operand (lse aside): the kernels' own form; a mix runs the f32 kernels on staged copies. */
    @Override
    protected void doAttention(AttentionInputs in, Tensor out, Tensor lse) {
        if (mixed(in.q(), in.prefixK(), in.prefixV(), in.residual(), out)) {
            try (Staging st = new Staging(this)) {
                doAttention(staged(st, in), st.output(out), lse);
            }
            return;
        }
        int dt = in.q().dtype().nativeCode();
        int causal = in.causal() ? 1 : 0;
        int status = naiveAttention(in)
                ? sp_cuda_attention_fwd_naive(dt, ptr(in.q()), ptr(in.k()), ptr(in.v()), ptr(in.prefixK()),
                        ptr(in.prefixV()), ptr(in.residual()), out.pointer(), lse.floatPointer(), in.batch(),
                        in.queries(), in.keys(), in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal, stream)
                : sp_cuda_attention_fwd_flash(dt, ptr(in.q()), ptr(in.k()), ptr(in.v()), ptr(in.prefixK()),
                        ptr(in.prefixV()), ptr(in.residual()), out.pointer(), lse.floatPointer(), in.batch(),
                        in.queries(), in.keys(), in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal,
                        stream);
        check(status, "attention");
    }

    @Override
    protected void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        if (mixed(in.q(), in.prefixK(), in.prefixV(), in.residual(), out, dOut, g.dq(), g.dk(), g.dv(), g.dPrefixK(),
                g.dPrefixV(), g.dResidual())) {
            try (Staging st = new Staging(this)) {
                AttentionGrads g32 = new AttentionGrads(st.output(g.dq()), st.output(g.dk()), st.output(g.dv()),
                        st.output(g.dPrefixK()), st.output(g.dPrefixV()), st.output(g.dResidual()));
                doAttentionBackward(staged(st, in), st.input(out), lse, st.input(dOut), g32);
            }
            return;
        }
        int dt = in.q().dtype().nativeCode();
        int causal = in.causal() ? 1 : 0;
        int status = naiveAttention(in)
                ? sp_cuda_attention_bwd_naive(dt, ptr(in.q()), ptr(in.k()), ptr(in.v()), ptr(in.prefixK()),
                        ptr(in.prefixV()), ptr(in.residual()), out.pointer(), lse.floatPointer(), dOut.pointer(),
                        ptr(g.dq()), ptr(g.dk()), ptr(g.dv()), ptr(g.dPrefixK()), ptr(g.dPrefixV()),
                        ptr(g.dResidual()), in.batch(), in.queries(), in.keys(), in.prefixLength(), in.heads(),
                        in.headDim(), in.scale(), causal, stream)
                : sp_cuda_attention_bwd_flash(dt, ptr(in.q()), ptr(in.k()), ptr(in.v()), ptr(in.prefixK()),
                        ptr(in.prefixV()), ptr(in.residual()), out.pointer(), lse.floatPointer(), dOut.pointer(),
                        ptr(g.dq()), ptr(g.dk()), ptr(g.dv()), ptr(g.dPrefixK()), ptr(g.dPrefixV()),
                        ptr(g.dResidual()), in.batch(), in.queries(), in.keys(), in.prefixLength(), in.heads(),
                        in.headDim(), in.scale(), causal, stream);
        check(status, "attentionBackward");
    }

    /** Whether the present tensors (nulls skipped) mix dtypes. */
    private static boolean mixed(Tensor... tensors) {
        DType first = null;
        for (Tensor t : tensors) {
            if (t == null) continue;
            if (first == null) first = t.dtype();
            else if (t.dtype() != first) return true;
        }
        return false;
    }

    /** The attention inputs as f32 tensors (widened copies of the bf16 ones). */
    private static AttentionInputs staged(Staging st, AttentionInputs in) {
        return new AttentionInputs(st.input(in.q()), st.input(in.k()), st.input(in.v()), st.input(in.prefixK()),
                st.input(in.prefixV()), st.input(in.residual()), in.heads(), in.scale(), in.causal());
    }

    @Override
    protected void doEmbeddingGather(Tensor table, int[] ids, Tensor out) {
        try (Tensor d = deviceInts(ids)) {
            check(sp_cuda_embedding_gather_dt(table.pointer(), dt(table), d.intPointer(), out.pointer(), dt(out),
                    ids.length, table.dim(1), table.dim(0), stream), "embeddingGather");
        }
    }

    @Override
    protected void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
        try (Tensor d = deviceInts(ids)) {
            check(sp_cuda_embedding_scatter_add(dOut.floatPointer(), d.intPointer(), dTable.floatPointer(), ids.length,
                    dTable.dim(1), dTable.dim(0), stream), "embeddingScatterAdd");
        }
    }

    @Override
    protected void doTokenSum(Tensor x, Tensor out) {
        check(sp_cuda_token_sum_dt(x.pointer(), dt(x), out.pointer(), dt(out), (int) x.dim(0), (int) x.dim(1),
                x.dim(2), stream), "tokenSum");
    }

    @Override
    protected void doTokenGather(Tensor x, int[] idx, Tensor out) {
        try (Tensor d = deviceInts(idx)) {
            check(sp_cuda_token_gather_dt(x.pointer(), dt(x), d.intPointer(), out.pointer(), dt(out), (int) x.dim(0),
                    (int) x.dim(1), x.dim(2), stream), "tokenGather");
        }
    }

    @Override
    protected void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
        try (Tensor d = deviceInts(idx)) {
            check(sp_cuda_token_scatter_add_dt(dOut.pointer(), dt(dOut), d.intPointer(), dx.pointer(), dt(dx),
                    (int) dx.dim(0), (int) dx.dim(1), dx.dim(2), stream), "tokenScatterAdd");
        }
    }

    @Override
    protected void doPatchify(Tensor images, int patch, Tensor patches) {
        check(sp_cuda_patchify_dt(images.pointer(), dt(images), patches.pointer(), dt(patches), (int) images.dim(0),
                (int) images.dim(1), (int) images.dim(2), patch, stream), "patchify");
    }

    @Override
    protected void doUnpatchify(Tensor dPatches, int patch, Tensor dImages) {
        check(sp_cuda_unpatchify_dt(dPatches.pointer(), dt(dPatches), dImages.pointer(), dt(dImages),
                (int) dImages.dim(0), (int) dImages.dim(1), (int) dImages.dim(2), patch, stream), "unpatchify");
    }

    @Override
    protected float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits) {
        try (Tensor d = deviceInts(labels); Tensor loss = empty(DType.F32, 1)) {
            check(sp_cuda_cross_entropy(logits.floatPointer(), d.intPointer(), (int) logits.dim(0),
                    (int) logits.dim(1), lo, hi, loss.floatPointer(), fp(dlogits), stream), "crossEntropy");
            return doReadFloats(loss)[0];
        }
    }

    @Override
    protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, int step) {
        check(sp_cuda_adam_step(param.floatPointer(), grad.floatPointer(), m.floatPointer(), v.floatPointer(),
                param.numel(), c.lr(), c.beta1(), c.beta2(), c.eps(), c.weightDecay(), step, stream), "adamStep");
    }

    @Override
    protected void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
        check(sp_cuda_sgd_step(param.floatPointer(), grad.floatPointer(), param.numel(), lr, weightDecay, stream),
                "sgdStep");
    }

    @Override
    protected void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        int status = naive("retrieval")
                ? sp_cuda_retrieval_fwd_naive(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), in.batch(), in.seen(),
                        in.classes(), in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0,
                        sims.floatPointer(), sel.intPointer(), sp.floatPointer(), stream)
                : sp_cuda_retrieval_fwd_fused(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), in.batch(), in.seen(),
                        in.classes(), in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0,
                        sims.floatPointer(), sel.intPointer(), sp.floatPointer(), stream);
        check(status, "retrieval");
    }

    @Override
    protected void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past, Tensor dA,
            Tensor dP) {
        int status = naive("retrieval")
                ? sp_cuda_retrieval_bwd_naive(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), sims.floatPointer(),
                        sel.intPointer(), dsp.floatPointer(), in.batch(), in.seen(), in.classes(), past,
                        in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0, dA.floatPointer(),
                        dP.floatPointer(), stream)
                : sp_cuda_retrieval_bwd_fused(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), sims.floatPointer(),
                        sel.intPointer(), dsp.floatPointer(), in.batch(), in.seen(), in.classes(), past,
                        in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0, dA.floatPointer(),
                        dP.floatPointer(), stream);
        check(status, "retrievalBackward");
    }

    @Override
    protected void doComponentWeighting(ComponentInputs in, Tensor alpha, Tensor out) {
        check(sp_cuda_component_weighting_fwd(in.queries().floatPointer(), in.keys().floatPointer(),
                in.attention().floatPointer(), in.components().floatPointer(), in.batch(), in.componentCount(),
                in.used(), in.queryDim(), in.rowWidth(), in.layers(), alpha.floatPointer(), out.floatPointer(), stream),
                "componentWeighting");
    }

    @Override
    protected void doComponentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
            Tensor dAttention, Tensor dComponents) {
        check(sp_cuda_component_weighting_bwd(in.queries().floatPointer(), in.keys().floatPointer(),
                in.attention().floatPointer(), in.components().floatPointer(), dOut.floatPointer(), in.batch(),
                in.componentCount(), in.used(), from, in.queryDim(), in.rowWidth(), in.layers(),
                dKeys.floatPointer(), dAttention.floatPointer(), dComponents.floatPointer(), stream),
                "componentWeightingBackward");
    }

    @Override
    protected void doCosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
            Tensor selected) {
        check(sp_cuda_cosine_match(queries.floatPointer(), keys.floatPointer(), (int) queries.dim(0),
                (int) keys.dim(0), (int) keys.dim(1), topN, batchwise ? 1 : 0, scores.floatPointer(),
                selected.intPointer(), stream), "cosineMatch");
    }

    @Override
    protected void doCosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
            Tensor dKeys, Tensor dQueries) {
        check(sp_cuda_cosine_match_bwd(queries.floatPointer(), keys.floatPointer(), selected.intPointer(),
                dSelected.floatPointer(), (int) queries.dim(0), (int) keys.dim(0), (int) keys.dim(1),
                (int) selected.dim(1), dKeys.floatPointer(), fp(dQueries), stream), "cosineMatchBackward");
    }

    @Override
    protected void doPromptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out) {
        check(sp_cuda_prompt_concat(tokens.floatPointer(), pool.floatPointer(), selected.intPointer(), fp(shift),
                out.floatPointer(), (int) tokens.dim(0), (int) tokens.dim(1), (int) pool.dim(0), (int) pool.dim(1),
                (int) selected.dim(1), tokens.dim(2), stream), "promptConcat");
    }

    @Override
    protected void doPromptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens) {
        int length = (int) dPool.dim(1), topN = (int) selected.dim(1);
        check(sp_cuda_prompt_concat_bwd(dOut.floatPointer(), selected.intPointer(), dPool.floatPointer(),
                fp(dTokens), (int) dOut.dim(0), (int) dOut.dim(1) - topN * length, (int) dPool.dim(0), length, topN,
                dOut.dim(2), stream), "promptConcatBackward");
    }

    @Override
    protected void doTokenRangeMean(Tensor x, int from, int count, Tensor out) {
        check(sp_cuda_token_range_mean(x.floatPointer(), out.floatPointer(), (int) x.dim(0), (int) x.dim(1), from,
                count, x.dim(2), stream), "tokenRangeMean");
    }

    @Override
    protected void doTokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx) {
        check(sp_cuda_token_range_mean_bwd(dOut.floatPointer(), dx.floatPointer(), (int) dx.dim(0),
                (int) dx.dim(1), from, count, dx.dim(2), stream), "tokenRangeMeanBackward");
    }
}
