package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.starprompt.TestBackends;
import io.starprompt.backend.reference.ReferenceBackend;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Storage;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native boundary: every public op of {@link Backend}, called with wrong shapes, wrong dtypes,
 * tensors on the wrong device, closed tensors, nulls, and on a closed backend, throws
 * IllegalArgumentException or IllegalStateException naming the op, on every backend present
 * (reference, cpu, and cuda where usable). A trap backend, whose every implementation hook
 * fails the test when reached, shows that the checks run before anything is handed to an
 * implementation (the public ops are final, so no backend can skip them).
 *
 * <p>{@link #everyPublicOpHasBoundaryCases} fails when an op is added without cases here.
 */
class NativeBoundaryTest {
    /** Kinds of bad input that every op taking tensors must have a case for. */
    private static final Set<String> TENSOR_KINDS = Set.of("dtype", "device", "closed");

    // ------------------------------------------------------------------ the trap backend

    /**
     * A host backend whose hooks fail the test when reached while armed; its memory hooks work
     * normally while disarmed, so that cases can build their (bad) inputs.
     */
    static final class TrapBackend extends HostBackend {
        private boolean armed;
        private final List<String> reached = new ArrayList<>();

        TrapBackend() {
            super("trap", new KernelRegistry("trap", Map.of()));
        }

        /** Whether it keeps the host backends' bf16 tensors (off: like a backend that has none). */
        boolean bf16Forms = true;

        @Override
        public boolean supports(DType dtype) {
            return dtype != DType.BF16 || bf16Forms;
        }

        private void hook(String name) {
            if (armed) {
                reached.add(name);
                throw new AssertionError("implementation hook " + name + " reached with bad input");
            }
        }

        /** Records a hook reached while armed (failing the test), else the refusal to compute. */
        private RuntimeException trap(String name) {
            hook(name);
            return compute(name);
        }

        private static UnsupportedOperationException compute(String name) {
            return new UnsupportedOperationException(name + " is not implemented by the trap backend");
        }

        @Override
        protected Tensor allocate(DType dtype, long[] shape) {
            hook("allocate");
            return super.allocate(dtype, shape);
        }

        @Override
        protected void doWrite(Tensor t, float[] data) {
            hook("doWrite");
            super.doWrite(t, data);
        }

        @Override
        protected void doWrite(Tensor t, int[] data) {
            hook("doWrite");
            super.doWrite(t, data);
        }

        @Override
        protected float[] doReadFloats(Tensor t) {
            hook("doReadFloats");
            return super.doReadFloats(t);
        }

        @Override
        protected int[] doReadInts(Tensor t) {
            hook("doReadInts");
            return super.doReadInts(t);
        }

        @Override
        protected void doCopy(Tensor src, Tensor dst) {
            hook("doCopy");
            super.doCopy(src, dst);
        }

        @Override
        protected void doZero(Tensor t) {
            hook("doZero");
            super.doZero(t);
        }

        @Override
        protected void doConvert(Tensor src, Tensor dst) {
            hook("doConvert");
            throw compute("doConvert");
        }

        @Override
        protected void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
            hook("doGemm");
            throw compute("doGemm");
        }

        @Override
        protected void doAddBias(Tensor x, Tensor bias) {
            hook("doAddBias");
            throw compute("doAddBias");
        }

        @Override
        protected void doAxpy(Tensor y, Tensor x, float alpha) {
            hook("doAxpy");
            throw compute("doAxpy");
        }

        @Override
        protected void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
            hook("doLayerNorm");
            throw compute("doLayerNorm");
        }

        @Override
        protected void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
                Tensor dgamma, Tensor dbeta) {
            hook("doLayerNormBackward");
            throw compute("doLayerNormBackward");
        }

        @Override
        protected void doActivation(Activation act, Tensor x, Tensor y) {
            hook("doActivation");
            throw compute("doActivation");
        }

        @Override
        protected void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
            hook("doActivationBackward");
            throw compute("doActivationBackward");
        }

        @Override
        protected void doSoftmax(Tensor x, Tensor y) {
            hook("doSoftmax");
            throw compute("doSoftmax");
        }

        @Override
        protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
            hook("doSoftmaxBackward");
            throw compute("doSoftmaxBackward");
        }

        @Override
        protected void doAttention(AttentionInputs in, Tensor out, Tensor lse) {
            hook("doAttention");
            throw compute("doAttention");
        }

        @Override
        protected void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
            hook("doAttentionBackward");
            throw compute("doAttentionBackward");
        }

        @Override
        protected void doEmbeddingGather(Tensor table, int[] ids, Tensor out) {
            hook("doEmbeddingGather");
            throw compute("doEmbeddingGather");
        }

        @Override
        protected void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
            hook("doEmbeddingScatterAdd");
            throw compute("doEmbeddingScatterAdd");
        }

        @Override
        protected void doTokenSum(Tensor x, Tensor out) {
            hook("doTokenSum");
            throw compute("doTokenSum");
        }

        @Override
        protected void doTokenGather(Tensor x, int[] idx, Tensor out) {
            hook("doTokenGather");
            throw compute("doTokenGather");
        }

        @Override
        protected void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
            hook("doTokenScatterAdd");
            throw compute("doTokenScatterAdd");
        }

        @Override
        protected void doPatchify(Tensor images, int patch, Tensor patches) {
            hook("doPatchify");
            throw compute("doPatchify");
        }

        @Override
        protected void doUnpatchify(Tensor dPatches, int patch, Tensor dImages) {
            hook("doUnpatchify");
            throw compute("doUnpatchify");
        }

        @Override
        protected float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits) {
            hook("doCrossEntropy");
            throw compute("doCrossEntropy");
        }

        @Override
        protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig cfg, int step) {
            hook("doAdamStep");
            throw compute("doAdamStep");
        }

        @Override
        protected void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
            hook("doSgdStep");
            throw compute("doSgdStep");
        }

        @Override
        protected void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
            hook("doRetrieval");
            throw compute("doRetrieval");
        }

        @Override
        protected void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past,
                Tensor dA, Tensor dP) {
            hook("doRetrievalBackward");
            throw compute("doRetrievalBackward");
        }

        @Override
        protected void doComponentWeighting(ComponentInputs in, Tensor alpha, Tensor out) {
            hook("doComponentWeighting");
            throw compute("doComponentWeighting");
        }

        @Override
        protected void doComponentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
                Tensor dAttention, Tensor dComponents) {
            hook("doComponentWeightingBackward");
            throw compute("doComponentWeightingBackward");
        }

        @Override
        protected void doCosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
                Tensor selected) {
            throw trap("doCosineMatch");
        }

        @Override
        protected void doCosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
                Tensor dKeys, Tensor dQueries) {
            throw trap("doCosineMatchBackward");
        }

        @Override
        protected void doPromptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out) {
            throw trap("doPromptConcat");
        }

        @Override
        protected void doPromptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens) {
            throw trap("doPromptConcatBackward");
        }

        @Override
        protected void doTokenRangeMean(Tensor x, int from, int count, Tensor out) {
            throw trap("doTokenRangeMean");
        }

        @Override
        protected void doTokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx) {
            throw trap("doTokenRangeMeanBackward");
        }
    }

    // ------------------------------------------------------------------ fixtures for bad inputs

    /** Builds valid and invalid tensors on one backend. */
    static final class Fixture {
        final Backend be;
        /** Real host memory behind the fake tensors, so that a missed check reads memory instead of crashing. */
        private final Backend host = new ReferenceBackend();
        private final Tensor hostBlock = TensorScope.detach(host.zeros(1 << 12));

        Fixture(Backend be) {
            this.be = be;
        }

        Tensor f(long... shape) {
            return be.zeros(shape);
        }

        Tensor i(long... shape) {
            return be.zeros(DType.I32, shape);
        }

        Tensor closed(long... shape) {
            Tensor t = be.zeros(shape);
            t.close();
            return t;
        }

        /** A tensor on the other device: a fake CUDA tensor for host backends, a host tensor for CUDA. */
        Tensor foreign(long... shape) {
            if (be.device() == Device.CUDA) return host.zeros(shape);
            return fake(Device.CUDA, DType.F32, shape);
        }

        /** A tensor of a dtype this backend does not have, or null where it has them all. */
        Tensor unsupported(long... shape) {
            return be.supports(DType.BF16) ? null : fake(Device.CPU, DType.BF16, shape);
        }

        private Tensor fake(Device device, DType dtype, long... shape) {
            long bytes = Tensor.numel(shape) * dtype.bytes();
            if (bytes > hostBlock.bytes()) throw new IllegalArgumentException("fake tensor too large");
            return Tensor.owning(new Storage(hostBlock.address(), bytes, device, address -> { }), dtype, shape);
        }

        void close() {
            hostBlock.close();
            host.close();
        }
    }

    /**
     * One bad call.
     *
     * @param op     the op's signature, e.g. "gemm(Tensor, boolean, Tensor, boolean, Tensor, float, float)"
     * @param kind   shape, dtype, device, closed, or argument
     * @param call   builds the inputs and returns the call; null where the case does not apply to a backend
     */
    record Bad(String op, String kind, String what, Function<Fixture, Executable> call) {
        String name() {
            return op.substring(0, op.indexOf('('));
        }

        @Override
        public String toString() {
            return op + " [" + kind + ": " + what + "]";
        }
    }

    private static final String GEMM = "gemm(Tensor, boolean, Tensor, boolean, Tensor, float, float)";
    private static final String LN = "layerNorm(Tensor, Tensor, Tensor, float, Tensor, Tensor, Tensor)";
    private static final String LNB = "layerNormBackward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)";
    private static final String ATT = "attention(AttentionInputs, Tensor, Tensor)";
    private static final String ATTB = "attentionBackward(AttentionInputs, Tensor, Tensor, Tensor, AttentionGrads)";
    private static final String RET = "retrieval(RetrievalInputs, Tensor, Tensor, Tensor)";
    private static final String RETB = "retrievalBackward(RetrievalInputs, Tensor, Tensor, Tensor, int, Tensor, Tensor)";

    private static AttentionInputs att(Fixture x, Tensor q, Tensor k, Tensor v, int heads) {
        return new AttentionInputs(q, k, v, null, null, null, heads, 0.5f, false);
    }

    private static AttentionGrads grads(Fixture x) {
        return new AttentionGrads(x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), null, null, null);
    }

    private static RetrievalInputs ret(Tensor queries, Tensor keys, Tensor modulation, Tensor prompts, int seen) {
        return new RetrievalInputs(queries, keys, modulation, prompts, seen, true);
    }

    private static RetrievalInputs ret(Fixture x) {
        return ret(x.f(2, 4), x.f(3, 4), x.f(2, 3, 4), x.f(2, 3, 6), 3);
    }

    /** A bad addBiasActivation(GELU, x, bias, y) call on the tensors {x, bias, y} that the fixture makes. */
    private static Bad biasActivation(String kind, String what, Function<Fixture, Tensor[]> xBiasY) {
        return new Bad("addBiasActivation(Activation, Tensor, Tensor, Tensor)", kind, what, x -> {
            Tensor[] t = xBiasY.apply(x);
            return () -> x.be.addBiasActivation(Activation.GELU, t[0], t[1], t[2]);
        });
    }

    /** Every bad call, by op. */
    static List<Bad> cases() {
        List<Bad> c = new ArrayList<>();
        // memory
        c.add(new Bad("empty(DType, long[])", "shape", "negative dimension", x -> () -> x.be.empty(DType.F32, 2, -1)));
        c.add(new Bad("empty(DType, long[])", "shape", "bytes beyond 64 bits", x -> () -> x.be.empty(DType.F32, 1L << 62, 4)));
        c.add(new Bad("empty(DType, long[])", "dtype", "null dtype", x -> () -> x.be.empty(null, 2)));
        c.add(new Bad("empty(DType, long[])", "dtype", "bf16 on a host backend",
                x -> x.be.supports(DType.BF16) ? null : () -> x.be.empty(DType.BF16, 2)));
        c.add(new Bad("empty(long[])", "shape", "negative dimension", x -> () -> x.be.empty(-3)));
        c.add(new Bad("empty(long[])", "shape", "element count overflows", x -> () -> x.be.empty(1L << 40, 1L << 40)));
        c.add(new Bad("zeros(long[])", "shape", "negative dimension", x -> () -> x.be.zeros(4, -2)));
        c.add(new Bad("zeros(DType, long[])", "shape", "null shape", x -> () -> x.be.zeros(DType.F32, (long[]) null)));
        c.add(new Bad("zeros(DType, long[])", "dtype", "null dtype", x -> () -> x.be.zeros(null, 2)));
        c.add(new Bad("fromArray(float[], long[])", "shape", "values do not fill the shape",
                x -> () -> x.be.fromArray(new float[6], 2, 2)));
        c.add(new Bad("fromArray(float[], long[])", "shape", "negative dimension",
                x -> () -> x.be.fromArray(new float[4], -2, -2)));
        c.add(new Bad("fromArray(float[], long[])", "argument", "null data", x -> () -> x.be.fromArray((float[]) null, 2)));
        c.add(new Bad("fromArray(int[], long[])", "shape", "values do not fill the shape",
                x -> () -> x.be.fromArray(new int[3], 4)));
        c.add(new Bad("toFloatArray(Tensor)", "dtype", "an index tensor", x -> {
            Tensor t = x.i(3);
            return () -> x.be.toFloatArray(t);
        }));
        c.add(new Bad("toFloatArray(Tensor)", "dtype", "a dtype the backend lacks", x -> {
            Tensor t = x.unsupported(3);
            return t == null ? null : () -> x.be.toFloatArray(t);
        }));
        c.add(new Bad("toFloatArray(Tensor)", "device", "other device", x -> {
            Tensor t = x.foreign(3);
            return () -> x.be.toFloatArray(t);
        }));
        c.add(new Bad("toFloatArray(Tensor)", "closed", "closed tensor", x -> {
            Tensor t = x.closed(3);
            return () -> x.be.toFloatArray(t);
        }));
        c.add(new Bad("toFloatArray(Tensor)", "closed", "view of a closed tensor", x -> {
            Tensor t = x.f(4, 2);
            Tensor view = t.rows(1, 2);
            t.close();
            return () -> x.be.toFloatArray(view);
        }));
        c.add(new Bad("toIntArray(Tensor)", "dtype", "f32 tensor", x -> {
            Tensor t = x.f(3);
            return () -> x.be.toIntArray(t);
        }));
        c.add(new Bad("toIntArray(Tensor)", "device", "other device", x -> {
            Tensor t = x.foreign(3);
            return () -> x.be.toIntArray(t);
        }));
        c.add(new Bad("toIntArray(Tensor)", "closed", "closed tensor", x -> {
            Tensor t = x.i(3);
            t.close();
            return () -> x.be.toIntArray(t);
        }));
        c.add(new Bad("toIntArray(Tensor)", "argument", "null tensor", x -> () -> x.be.toIntArray(null)));
        c.add(new Bad("copy(Tensor, Tensor)", "shape", "[2, 3] into [3, 2]", x -> {
            Tensor a = x.f(2, 3), b = x.f(3, 2);
            return () -> x.be.copy(a, b);
        }));
        c.add(new Bad("copy(Tensor, Tensor)", "dtype", "f32 into i32", x -> {
            Tensor a = x.f(3), b = x.i(3);
            return () -> x.be.copy(a, b);
        }));
        c.add(new Bad("copy(Tensor, Tensor)", "device", "from the other device", x -> {
            Tensor a = x.foreign(3), b = x.f(3);
            return () -> x.be.copy(a, b);
        }));
        c.add(new Bad("copy(Tensor, Tensor)", "closed", "into a closed tensor", x -> {
            Tensor a = x.f(3), b = x.closed(3);
            return () -> x.be.copy(a, b);
        }));
        c.add(new Bad("convert(Tensor, Tensor)", "shape", "[4] into [5]", x -> {
            Tensor a = x.f(4), b = x.f(5);
            return () -> x.be.convert(a, b);
        }));
        c.add(new Bad("convert(Tensor, Tensor)", "dtype", "i32", x -> {
            Tensor a = x.f(4), b = x.i(4);
            return () -> x.be.convert(a, b);
        }));
        c.add(new Bad("convert(Tensor, Tensor)", "dtype", "to a dtype the backend lacks", x -> {
            Tensor a = x.f(4), b = x.unsupported(4);
            return b == null ? null : () -> x.be.convert(a, b);
        }));
        c.add(new Bad("convert(Tensor, Tensor)", "device", "to the other device", x -> {
            Tensor a = x.f(4), b = x.foreign(4);
            return () -> x.be.convert(a, b);
        }));
        c.add(new Bad("convert(Tensor, Tensor)", "closed", "from a closed tensor", x -> {
            Tensor a = x.closed(4), b = x.f(4);
            return () -> x.be.convert(a, b);
        }));
        c.add(new Bad("zero(Tensor)", "argument", "null tensor", x -> () -> x.be.zero(null)));
        c.add(new Bad("zero(Tensor)", "dtype", "a dtype the backend lacks", x -> {
            Tensor t = x.unsupported(4);
            return t == null ? null : () -> x.be.zero(t);
        }));
        c.add(new Bad("zero(Tensor)", "device", "other device", x -> {
            Tensor t = x.foreign(4);
            return () -> x.be.zero(t);
        }));
        c.add(new Bad("zero(Tensor)", "closed", "closed tensor", x -> {
            Tensor t = x.closed(4);
            return () -> x.be.zero(t);
        }));
        // dense algebra
        c.add(new Bad(GEMM, "shape", "[3,4]·[5,6]", x -> {
            Tensor a = x.f(3, 4), b = x.f(5, 6), o = x.f(3, 6);
            return () -> x.be.gemm(a, false, b, false, o, 1, 0);
        }));
        c.add(new Bad(GEMM, "shape", "batched a with a 2-D c", x -> {
            Tensor a = x.f(2, 3, 4), b = x.f(4, 6), o = x.f(3, 6);
            return () -> x.be.gemm(a, false, b, false, o, 1, 0);
        }));
        c.add(new Bad(GEMM, "dtype", "i32 a", x -> {
            Tensor a = x.i(3, 4), b = x.f(4, 6), o = x.f(3, 6);
            return () -> x.be.gemm(a, false, b, false, o, 1, 0);
        }));
        c.add(new Bad(GEMM, "device", "b on the other device", x -> {
            Tensor a = x.f(3, 4), b = x.foreign(4, 6), o = x.f(3, 6);
            return () -> x.be.gemm(a, false, b, false, o, 1, 0);
        }));
        c.add(new Bad(GEMM, "closed", "closed c", x -> {
            Tensor a = x.f(3, 4), b = x.f(4, 6), o = x.closed(3, 6);
            return () -> x.be.gemm(a, false, b, false, o, 1, 0);
        }));
        c.add(new Bad("addBias(Tensor, Tensor)", "shape", "bias [4] for rows of 3", x -> {
            Tensor t = x.f(2, 3), b = x.f(4);
            return () -> x.be.addBias(t, b);
        }));
        c.add(new Bad("addBias(Tensor, Tensor)", "shape", "scalar x", x -> {
            Tensor t = x.f(), b = x.f(1);
            return () -> x.be.addBias(t, b);
        }));
        c.add(new Bad("addBias(Tensor, Tensor)", "dtype", "i32 bias", x -> {
            Tensor t = x.f(2, 3), b = x.i(3);
            return () -> x.be.addBias(t, b);
        }));
        c.add(new Bad("addBias(Tensor, Tensor)", "device", "x on the other device", x -> {
            Tensor t = x.foreign(2, 3), b = x.f(3);
            return () -> x.be.addBias(t, b);
        }));
        c.add(new Bad("addBias(Tensor, Tensor)", "closed", "closed bias", x -> {
            Tensor t = x.f(2, 3), b = x.closed(3);
            return () -> x.be.addBias(t, b);
        }));
        c.add(biasActivation("shape", "bias [4] for rows of 3", x -> new Tensor[] {x.f(2, 3), x.f(4), x.f(2, 3)}));
        c.add(biasActivation("shape", "y [3,2] for x [2,3]", x -> new Tensor[] {x.f(2, 3), x.f(3), x.f(3, 2)}));
        c.add(biasActivation("dtype", "i32 bias", x -> new Tensor[] {x.f(2, 3), x.i(3), x.f(2, 3)}));
        c.add(biasActivation("device", "y on the other device", x -> new Tensor[] {x.f(2, 3), x.f(3), x.foreign(2, 3)}));
        c.add(biasActivation("closed", "closed x", x -> new Tensor[] {x.closed(2, 3), x.f(3), x.f(2, 3)}));
        c.add(new Bad("addBiasActivation(Activation, Tensor, Tensor, Tensor)", "argument", "null activation", x -> {
            Tensor t = x.f(2, 3), b = x.f(3);
            return () -> x.be.addBiasActivation(null, t, b, t);
        }));
        c.add(new Bad("axpy(Tensor, Tensor, float)", "shape", "[2,3] and [3,2]", x -> {
            Tensor y = x.f(2, 3), t = x.f(3, 2);
            return () -> x.be.axpy(y, t, 1);
        }));
        c.add(new Bad("axpy(Tensor, Tensor, float)", "dtype", "i32 y", x -> {
            Tensor y = x.i(3), t = x.f(3);
            return () -> x.be.axpy(y, t, 1);
        }));
        c.add(new Bad("axpy(Tensor, Tensor, float)", "device", "x on the other device", x -> {
            Tensor y = x.f(3), t = x.foreign(3);
            return () -> x.be.axpy(y, t, 1);
        }));
        c.add(new Bad("axpy(Tensor, Tensor, float)", "closed", "closed y", x -> {
            Tensor y = x.closed(3), t = x.f(3);
            return () -> x.be.axpy(y, t, 1);
        }));
        // normalisation, activations
        c.add(new Bad(LN, "shape", "gamma [7] for rows of 8", x -> {
            Tensor t = x.f(2, 8), g = x.f(7), b = x.f(8), y = x.f(2, 8), m = x.f(2), r = x.f(2);
            return () -> x.be.layerNorm(t, g, b, 1e-6f, y, m, r);
        }));
        c.add(new Bad(LN, "shape", "scalar x", x -> {
            Tensor t = x.f(), g = x.f(1), b = x.f(1), y = x.f(), m = x.f(1), r = x.f(1);
            return () -> x.be.layerNorm(t, g, b, 1e-6f, y, m, r);
        }));
        c.add(new Bad(LN, "argument", "eps 0", x -> {
            Tensor t = x.f(2, 8), g = x.f(8), b = x.f(8), y = x.f(2, 8), m = x.f(2), r = x.f(2);
            return () -> x.be.layerNorm(t, g, b, 0f, y, m, r);
        }));
        c.add(new Bad(LN, "dtype", "i32 mean", x -> {
            Tensor t = x.f(2, 8), g = x.f(8), b = x.f(8), y = x.f(2, 8), m = x.i(2), r = x.f(2);
            return () -> x.be.layerNorm(t, g, b, 1e-6f, y, m, r);
        }));
        c.add(new Bad(LN, "device", "y on the other device", x -> {
            Tensor t = x.f(2, 8), g = x.f(8), b = x.f(8), y = x.foreign(2, 8), m = x.f(2), r = x.f(2);
            return () -> x.be.layerNorm(t, g, b, 1e-6f, y, m, r);
        }));
        c.add(new Bad(LN, "closed", "closed rstd", x -> {
            Tensor t = x.f(2, 8), g = x.f(8), b = x.f(8), y = x.f(2, 8), m = x.f(2), r = x.closed(2);
            return () -> x.be.layerNorm(t, g, b, 1e-6f, y, m, r);
        }));
        c.add(new Bad(LNB, "shape", "dgamma [7]", x -> {
            Tensor t = x.f(2, 8);
            Tensor dy = x.f(2, 8), g = x.f(8), m = x.f(2), r = x.f(2), dx = x.f(2, 8), dg = x.f(7), db = x.f(8);
            return () -> x.be.layerNormBackward(dy, t, g, m, r, dx, dg, db);
        }));
        c.add(new Bad(LNB, "dtype", "i32 dy", x -> {
            Tensor t = x.f(2, 8);
            Tensor dy = x.i(2, 8), g = x.f(8), m = x.f(2), r = x.f(2), dx = x.f(2, 8);
            return () -> x.be.layerNormBackward(dy, t, g, m, r, dx, null, null);
        }));
        c.add(new Bad(LNB, "device", "dx on the other device", x -> {
            Tensor t = x.f(2, 8);
            Tensor dy = x.f(2, 8), g = x.f(8), m = x.f(2), r = x.f(2), dx = x.foreign(2, 8);
            return () -> x.be.layerNormBackward(dy, t, g, m, r, dx, null, null);
        }));
        c.add(new Bad(LNB, "closed", "closed x", x -> {
            Tensor t = x.closed(2, 8);
            Tensor dy = x.f(2, 8), g = x.f(8), m = x.f(2), r = x.f(2), dx = x.f(2, 8);
            return () -> x.be.layerNormBackward(dy, t, g, m, r, dx, null, null);
        }));
        for (String op : new String[] {"activation(Activation, Tensor, Tensor)",
                "activationBackward(Activation, Tensor, Tensor, Tensor)"}) {
            boolean fwd = op.startsWith("activation(");
            c.add(new Bad(op, "shape", "[4] and [5]", x -> {
                Tensor a = x.f(4), b = x.f(5), d = x.f(4);
                return fwd ? () -> x.be.activation(Activation.GELU, a, b)
                        : () -> x.be.activationBackward(Activation.GELU, a, b, d);
            }));
            c.add(new Bad(op, "argument", "null activation", x -> {
                Tensor a = x.f(4), b = x.f(4), d = x.f(4);
                return fwd ? () -> x.be.activation(null, a, b) : () -> x.be.activationBackward(null, a, b, d);
            }));
            c.add(new Bad(op, "dtype", "i32 x", x -> {
                Tensor a = x.i(4), b = x.f(4), d = x.f(4);
                return fwd ? () -> x.be.activation(Activation.QUICK_GELU, a, b)
                        : () -> x.be.activationBackward(Activation.QUICK_GELU, a, b, d);
            }));
            c.add(new Bad(op, "device", "output on the other device", x -> {
                Tensor a = x.f(4), b = x.f(4), d = x.foreign(4);
                return fwd ? () -> x.be.activation(Activation.GELU, a, d)
                        : () -> x.be.activationBackward(Activation.GELU, a, b, d);
            }));
            c.add(new Bad(op, "closed", "closed x", x -> {
                Tensor a = x.closed(4), b = x.f(4), d = x.f(4);
                return fwd ? () -> x.be.activation(Activation.GELU, a, b)
                        : () -> x.be.activationBackward(Activation.GELU, a, b, d);
            }));
        }
        for (String op : new String[] {"softmax(Tensor, Tensor)", "softmaxBackward(Tensor, Tensor, Tensor)"}) {
            boolean fwd = op.startsWith("softmax(");
            c.add(new Bad(op, "shape", "[2,4] and [4,2]", x -> {
                Tensor a = x.f(2, 4), b = x.f(4, 2), d = x.f(2, 4);
                return fwd ? () -> x.be.softmax(a, b) : () -> x.be.softmaxBackward(a, b, d);
            }));
            c.add(new Bad(op, "shape", "scalars", x -> {
                Tensor a = x.f(), b = x.f(), d = x.f();
                return fwd ? () -> x.be.softmax(a, b) : () -> x.be.softmaxBackward(a, b, d);
            }));
            c.add(new Bad(op, "dtype", "i32 output", x -> {
                Tensor a = x.f(2, 4), b = x.f(2, 4), d = x.i(2, 4);
                return fwd ? () -> x.be.softmax(a, d) : () -> x.be.softmaxBackward(a, b, d);
            }));
            c.add(new Bad(op, "device", "input on the other device", x -> {
                Tensor a = x.foreign(2, 4), b = x.f(2, 4), d = x.f(2, 4);
                return fwd ? () -> x.be.softmax(a, b) : () -> x.be.softmaxBackward(a, b, d);
            }));
            c.add(new Bad(op, "closed", "closed output", x -> {
                Tensor a = x.f(2, 4), b = x.f(2, 4), d = x.closed(2, 4);
                return fwd ? () -> x.be.softmax(a, d) : () -> x.be.softmaxBackward(a, b, d);
            }));
        }
        // attention
        c.add(new Bad(ATT, "shape", "heads do not divide the width", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 3);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 3, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "shape", "k of another width", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 6, 7), x.f(2, 6, 7), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "shape", "causal with fewer keys than queries", x -> {
            AttentionInputs in = new AttentionInputs(x.f(2, 5, 8), x.f(2, 4, 8), x.f(2, 4, 8), null, null, null, 2,
                    0.5f, true);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "argument", "prefix keys without prefix values", x -> {
            AttentionInputs in = new AttentionInputs(x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 3, 8), null, null,
                    2, 0.5f, false);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "dtype", "i32 lse", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.i(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "device", "v on the other device", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.foreign(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATT, "closed", "closed q", x -> {
            AttentionInputs in = att(x, x.closed(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5);
            return () -> x.be.attention(in, out, lse);
        }));
        c.add(new Bad(ATTB, "shape", "dOut of another width", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5), dOut = x.f(2, 5, 4);
            AttentionGrads g = grads(x);
            return () -> x.be.attentionBackward(in, out, lse, dOut, g);
        }));
        c.add(new Bad(ATTB, "argument", "a residual gradient without a residual", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5), dOut = x.f(2, 5, 8);
            AttentionGrads g = new AttentionGrads(x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), null, null, x.f(2, 8));
            return () -> x.be.attentionBackward(in, out, lse, dOut, g);
        }));
        c.add(new Bad(ATTB, "dtype", "i32 lse", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.i(2, 2, 5), dOut = x.f(2, 5, 8);
            AttentionGrads g = grads(x);
            return () -> x.be.attentionBackward(in, out, lse, dOut, g);
        }));
        c.add(new Bad(ATTB, "device", "dq on the other device", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5), dOut = x.f(2, 5, 8);
            AttentionGrads g = new AttentionGrads(x.foreign(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), null, null, null);
            return () -> x.be.attentionBackward(in, out, lse, dOut, g);
        }));
        c.add(new Bad(ATTB, "closed", "closed dOut", x -> {
            AttentionInputs in = att(x, x.f(2, 5, 8), x.f(2, 5, 8), x.f(2, 5, 8), 2);
            Tensor out = x.f(2, 5, 8), lse = x.f(2, 2, 5), dOut = x.closed(2, 5, 8);
            AttentionGrads g = grads(x);
            return () -> x.be.attentionBackward(in, out, lse, dOut, g);
        }));
        // gathers, reductions
        for (String op : new String[] {"embeddingGather(Tensor, int[], Tensor)",
                "embeddingScatterAdd(Tensor, int[], Tensor)"}) {
            boolean gather = op.startsWith("embeddingGather");
            c.add(new Bad(op, "shape", "id beyond the table", x -> {
                Tensor table = x.f(10, 4), rows = x.f(2, 4);
                int[] ids = {3, 10};
                return gather ? () -> x.be.embeddingGather(table, ids, rows) : () -> x.be.embeddingScatterAdd(rows, ids, table);
            }));
            c.add(new Bad(op, "shape", "rows of another width", x -> {
                Tensor table = x.f(10, 4), rows = x.f(2, 5);
                int[] ids = {3, 4};
                return gather ? () -> x.be.embeddingGather(table, ids, rows) : () -> x.be.embeddingScatterAdd(rows, ids, table);
            }));
            c.add(new Bad(op, "dtype", "i32 table", x -> {
                Tensor table = x.i(10, 4), rows = x.f(2, 4);
                int[] ids = {3, 4};
                return gather ? () -> x.be.embeddingGather(table, ids, rows) : () -> x.be.embeddingScatterAdd(rows, ids, table);
            }));
            c.add(new Bad(op, "device", "rows on the other device", x -> {
                Tensor table = x.f(10, 4), rows = x.foreign(2, 4);
                int[] ids = {3, 4};
                return gather ? () -> x.be.embeddingGather(table, ids, rows) : () -> x.be.embeddingScatterAdd(rows, ids, table);
            }));
            c.add(new Bad(op, "closed", "closed table", x -> {
                Tensor table = x.closed(10, 4), rows = x.f(2, 4);
                int[] ids = {3, 4};
                return gather ? () -> x.be.embeddingGather(table, ids, rows) : () -> x.be.embeddingScatterAdd(rows, ids, table);
            }));
        }
        c.add(new Bad("tokenSum(Tensor, Tensor)", "shape", "out [2, 3] for [2, 5, 4]", x -> {
            Tensor t = x.f(2, 5, 4), o = x.f(2, 3);
            return () -> x.be.tokenSum(t, o);
        }));
        c.add(new Bad("tokenSum(Tensor, Tensor)", "dtype", "i32 out", x -> {
            Tensor t = x.f(2, 5, 4), o = x.i(2, 4);
            return () -> x.be.tokenSum(t, o);
        }));
        c.add(new Bad("tokenSum(Tensor, Tensor)", "device", "x on the other device", x -> {
            Tensor t = x.foreign(2, 5, 4), o = x.f(2, 4);
            return () -> x.be.tokenSum(t, o);
        }));
        c.add(new Bad("tokenSum(Tensor, Tensor)", "closed", "closed x", x -> {
            Tensor t = x.closed(2, 5, 4), o = x.f(2, 4);
            return () -> x.be.tokenSum(t, o);
        }));
        for (String op : new String[] {"tokenGather(Tensor, int[], Tensor)", "tokenScatterAdd(Tensor, int[], Tensor)"}) {
            boolean gather = op.startsWith("tokenGather");
            c.add(new Bad(op, "shape", "index beyond the tokens", x -> {
                Tensor t = x.f(2, 5, 4), o = x.f(2, 4);
                int[] idx = {0, 5};
                return gather ? () -> x.be.tokenGather(t, idx, o) : () -> x.be.tokenScatterAdd(o, idx, t);
            }));
            c.add(new Bad(op, "shape", "one index for two samples", x -> {
                Tensor t = x.f(2, 5, 4), o = x.f(2, 4);
                int[] idx = {0};
                return gather ? () -> x.be.tokenGather(t, idx, o) : () -> x.be.tokenScatterAdd(o, idx, t);
            }));
            c.add(new Bad(op, "dtype", "i32 tokens", x -> {
                Tensor t = x.i(2, 5, 4), o = x.f(2, 4);
                int[] idx = {0, 1};
                return gather ? () -> x.be.tokenGather(t, idx, o) : () -> x.be.tokenScatterAdd(o, idx, t);
            }));
            c.add(new Bad(op, "device", "rows on the other device", x -> {
                Tensor t = x.f(2, 5, 4), o = x.foreign(2, 4);
                int[] idx = {0, 1};
                return gather ? () -> x.be.tokenGather(t, idx, o) : () -> x.be.tokenScatterAdd(o, idx, t);
            }));
            c.add(new Bad(op, "closed", "closed tokens", x -> {
                Tensor t = x.closed(2, 5, 4), o = x.f(2, 4);
                int[] idx = {0, 1};
                return gather ? () -> x.be.tokenGather(t, idx, o) : () -> x.be.tokenScatterAdd(o, idx, t);
            }));
        }
        for (String op : new String[] {"patchify(Tensor, int, Tensor)", "unpatchify(Tensor, int, Tensor)"}) {
            boolean fwd = op.startsWith("patchify");
            c.add(new Bad(op, "shape", "patch 3 on 8 px images", x -> {
                Tensor img = x.f(1, 3, 8, 8), p = x.f(1, 5, 48);
                return fwd ? () -> x.be.patchify(img, 3, p) : () -> x.be.unpatchify(p, 3, img);
            }));
            c.add(new Bad(op, "shape", "patches of the wrong length", x -> {
                Tensor img = x.f(1, 3, 8, 8), p = x.f(1, 5, 47);
                return fwd ? () -> x.be.patchify(img, 4, p) : () -> x.be.unpatchify(p, 4, img);
            }));
            c.add(new Bad(op, "shape", "non-square images", x -> {
                Tensor img = x.f(1, 3, 8, 4), p = x.f(1, 3, 48);
                return fwd ? () -> x.be.patchify(img, 4, p) : () -> x.be.unpatchify(p, 4, img);
            }));
            c.add(new Bad(op, "dtype", "i32 patches", x -> {
                Tensor img = x.f(1, 3, 8, 8), p = x.i(1, 5, 48);
                return fwd ? () -> x.be.patchify(img, 4, p) : () -> x.be.unpatchify(p, 4, img);
            }));
            c.add(new Bad(op, "device", "images on the other device", x -> {
                Tensor img = x.foreign(1, 3, 8, 8), p = x.f(1, 5, 48);
                return fwd ? () -> x.be.patchify(img, 4, p) : () -> x.be.unpatchify(p, 4, img);
            }));
            c.add(new Bad(op, "closed", "closed patches", x -> {
                Tensor img = x.f(1, 3, 8, 8), p = x.closed(1, 5, 48);
                return fwd ? () -> x.be.patchify(img, 4, p) : () -> x.be.unpatchify(p, 4, img);
            }));
        }
        // loss, optimisers
        String ce = "crossEntropy(Tensor, int[], int, int, Tensor)";
        c.add(new Bad(ce, "shape", "class range beyond the logits", x -> {
            Tensor z = x.f(2, 5);
            return () -> x.be.crossEntropy(z, new int[] {1, 2}, 0, 6, null);
        }));
        c.add(new Bad(ce, "shape", "label outside the class range", x -> {
            Tensor z = x.f(2, 5);
            return () -> x.be.crossEntropy(z, new int[] {1, 4}, 0, 3, null);
        }));
        c.add(new Bad(ce, "shape", "dlogits of another shape", x -> {
            Tensor z = x.f(2, 5), dz = x.f(2, 4);
            return () -> x.be.crossEntropy(z, new int[] {1, 2}, 0, 5, dz);
        }));
        c.add(new Bad(ce, "dtype", "i32 logits", x -> {
            Tensor z = x.i(2, 5);
            return () -> x.be.crossEntropy(z, new int[] {1, 2}, 0, 5, null);
        }));
        c.add(new Bad(ce, "device", "dlogits on the other device", x -> {
            Tensor z = x.f(2, 5), dz = x.foreign(2, 5);
            return () -> x.be.crossEntropy(z, new int[] {1, 2}, 0, 5, dz);
        }));
        c.add(new Bad(ce, "closed", "closed logits", x -> {
            Tensor z = x.closed(2, 5);
            return () -> x.be.crossEntropy(z, new int[] {1, 2}, 0, 5, null);
        }));
        String adam = "adamStep(Tensor, Tensor, Tensor, Tensor, AdamConfig, int)";
        c.add(new Bad(adam, "shape", "moment of another shape", x -> {
            Tensor p = x.f(4), g = x.f(4), m = x.f(5), v = x.f(4);
            return () -> x.be.adamStep(p, g, m, v, AdamConfig.defaults(), 1);
        }));
        c.add(new Bad(adam, "argument", "step 0", x -> {
            Tensor p = x.f(4), g = x.f(4), m = x.f(4), v = x.f(4);
            return () -> x.be.adamStep(p, g, m, v, AdamConfig.defaults(), 0);
        }));
        c.add(new Bad(adam, "argument", "null config", x -> {
            Tensor p = x.f(4), g = x.f(4), m = x.f(4), v = x.f(4);
            return () -> x.be.adamStep(p, g, m, v, null, 1);
        }));
        c.add(new Bad(adam, "dtype", "i32 grad", x -> {
            Tensor p = x.f(4), g = x.i(4), m = x.f(4), v = x.f(4);
            return () -> x.be.adamStep(p, g, m, v, AdamConfig.defaults(), 1);
        }));
        c.add(new Bad(adam, "device", "v on the other device", x -> {
            Tensor p = x.f(4), g = x.f(4), m = x.f(4), v = x.foreign(4);
            return () -> x.be.adamStep(p, g, m, v, AdamConfig.defaults(), 1);
        }));
        c.add(new Bad(adam, "closed", "closed param", x -> {
            Tensor p = x.closed(4), g = x.f(4), m = x.f(4), v = x.f(4);
            return () -> x.be.adamStep(p, g, m, v, AdamConfig.defaults(), 1);
        }));
        String sgd = "sgdStep(Tensor, Tensor, float, float)";
        c.add(new Bad(sgd, "shape", "grad of another shape", x -> {
            Tensor p = x.f(4), g = x.f(2, 2);
            return () -> x.be.sgdStep(p, g, 0.1f, 0);
        }));
        c.add(new Bad(sgd, "dtype", "i32 param", x -> {
            Tensor p = x.i(4), g = x.f(4);
            return () -> x.be.sgdStep(p, g, 0.1f, 0);
        }));
        c.add(new Bad(sgd, "device", "grad on the other device", x -> {
            Tensor p = x.f(4), g = x.foreign(4);
            return () -> x.be.sgdStep(p, g, 0.1f, 0);
        }));
        c.add(new Bad(sgd, "closed", "closed grad", x -> {
            Tensor p = x.f(4), g = x.closed(4);
            return () -> x.be.sgdStep(p, g, 0.1f, 0);
        }));
        // retrieval
        c.add(new Bad(RET, "shape", "seen beyond the classes", x -> {
            RetrievalInputs in = ret(x.f(2, 4), x.f(4, 4), x.f(2, 3, 4), x.f(2, 3, 6), 4);
            Tensor sims = x.f(2, 2, 4), sel = x.i(2, 2), sp = x.f(2, 2, 6);
            return () -> x.be.retrieval(in, sims, sel, sp);
        }));
        c.add(new Bad(RET, "shape", "keys of another width", x -> {
            RetrievalInputs in = ret(x.f(2, 4), x.f(3, 5), x.f(2, 3, 4), x.f(2, 3, 6), 3);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), sp = x.f(2, 2, 6);
            return () -> x.be.retrieval(in, sims, sel, sp);
        }));
        c.add(new Bad(RET, "dtype", "f32 selection", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.f(2, 2, 3), sel = x.f(2, 2), sp = x.f(2, 2, 6);
            return () -> x.be.retrieval(in, sims, sel, sp);
        }));
        c.add(new Bad(RET, "device", "keys on the other device", x -> {
            RetrievalInputs in = ret(x.f(2, 4), x.foreign(3, 4), x.f(2, 3, 4), x.f(2, 3, 6), 3);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), sp = x.f(2, 2, 6);
            return () -> x.be.retrieval(in, sims, sel, sp);
        }));
        c.add(new Bad(RET, "closed", "closed prompts", x -> {
            RetrievalInputs in = ret(x.f(2, 4), x.f(3, 4), x.f(2, 3, 4), x.closed(2, 3, 6), 3);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), sp = x.f(2, 2, 6);
            return () -> x.be.retrieval(in, sims, sel, sp);
        }));
        c.add(new Bad(RETB, "shape", "past beyond seen", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), dsp = x.f(2, 2, 6), dA = x.f(2, 3, 4), dP = x.f(2, 3, 6);
            return () -> x.be.retrievalBackward(in, sims, sel, dsp, 5, dA, dP);
        }));
        c.add(new Bad(RETB, "shape", "dA of another shape", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), dsp = x.f(2, 2, 6), dA = x.f(2, 3, 5), dP = x.f(2, 3, 6);
            return () -> x.be.retrievalBackward(in, sims, sel, dsp, 1, dA, dP);
        }));
        c.add(new Bad(RETB, "dtype", "i32 dsp", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), dsp = x.i(2, 2, 6), dA = x.f(2, 3, 4), dP = x.f(2, 3, 6);
            return () -> x.be.retrievalBackward(in, sims, sel, dsp, 1, dA, dP);
        }));
        c.add(new Bad(RETB, "device", "dP on the other device", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.f(2, 2, 3), sel = x.i(2, 2), dsp = x.f(2, 2, 6), dA = x.f(2, 3, 4), dP = x.foreign(2, 3, 6);
            return () -> x.be.retrievalBackward(in, sims, sel, dsp, 1, dA, dP);
        }));
        c.add(new Bad(RETB, "closed", "closed sims", x -> {
            RetrievalInputs in = ret(x);
            Tensor sims = x.closed(2, 2, 3), sel = x.i(2, 2), dsp = x.f(2, 2, 6), dA = x.f(2, 3, 4), dP = x.f(2, 3, 6);
            return () -> x.be.retrievalBackward(in, sims, sel, dsp, 1, dA, dP);
        }));
        // cosine top-N prompt match
        c.add(match("shape", "keys of another width", 2, x -> x.f(2, 4), x -> x.f(3, 5), x -> x.f(2, 3), x -> x.i(2, 2)));
        c.add(match("shape", "topN beyond the pool", 4, x -> x.f(2, 4), x -> x.f(3, 4), x -> x.f(2, 3), x -> x.i(2, 4)));
        c.add(match("shape", "selected with the wrong width", 2, x -> x.f(2, 4), x -> x.f(3, 4), x -> x.f(2, 3),
                x -> x.i(2, 1)));
        c.add(match("dtype", "f32 selected", 2, x -> x.f(2, 4), x -> x.f(3, 4), x -> x.f(2, 3), x -> x.f(2, 2)));
        c.add(match("device", "keys on the other device", 2, x -> x.f(2, 4), x -> x.foreign(3, 4), x -> x.f(2, 3),
                x -> x.i(2, 2)));
        c.add(match("closed", "closed queries", 2, x -> x.closed(2, 4), x -> x.f(3, 4), x -> x.f(2, 3), x -> x.i(2, 2)));
        String cmb = "cosineMatchBackward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)";
        c.add(new Bad(cmb, "shape", "dKeys of another shape", x -> {
            Tensor q = x.f(2, 4), k = x.f(3, 4), sel = x.i(2, 2), w = x.f(2, 2), dk = x.f(3, 5);
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, null);
        }));
        c.add(new Bad(cmb, "shape", "dSelected of another shape", x -> {
            Tensor q = x.f(2, 4), k = x.f(3, 4), sel = x.i(2, 2), w = x.f(2, 1), dk = x.f(3, 4), dq = x.f(2, 4);
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, dq);
        }));
        c.add(new Bad(cmb, "argument", "a selected index beyond the pool", x -> {
            if (x.be instanceof TrapBackend) return null; // the check reads the indices, a hook the trap forbids
            Tensor q = x.f(2, 4), k = x.f(3, 4), w = x.f(2, 2), dk = x.f(3, 4);
            Tensor sel = x.be.fromArray(new int[] {0, 1, 2, 3}, 2, 2);
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, null);
        }));
        c.add(new Bad(cmb, "dtype", "i32 dSelected", x -> {
            Tensor q = x.f(2, 4), k = x.f(3, 4), sel = x.i(2, 2), w = x.i(2, 2), dk = x.f(3, 4);
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, null);
        }));
        c.add(new Bad(cmb, "device", "dQueries on the other device", x -> {
            Tensor q = x.f(2, 4), k = x.f(3, 4), sel = x.i(2, 2), w = x.f(2, 2), dk = x.f(3, 4);
            Tensor dq = x.foreign(2, 4);
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, dq);
        }));
        c.add(new Bad(cmb, "closed", "closed selected", x -> {
            Tensor q = x.f(2, 4), k = x.f(3, 4), w = x.f(2, 2), dk = x.f(3, 4);
            Tensor sel = x.i(2, 2);
            sel.close();
            return () -> x.be.cosineMatchBackward(q, k, sel, w, dk, null);
        }));
        // input-prompt concatenation: tokens [2, 5, 4], pool [3, 2, 4], selected [2, 2], out [2, 9, 4]
        String pc = "promptConcat(Tensor, Tensor, Tensor, Tensor, Tensor)";
        c.add(concat("shape", "out without room for the prompts", x -> x.f(2, 5, 4), x -> x.f(3, 2, 4), x -> x.i(2, 2),
                null, x -> x.f(2, 5, 4)));
        c.add(concat("shape", "pool of another width", x -> x.f(2, 5, 4), x -> x.f(3, 2, 5), x -> x.i(2, 2), null,
                x -> x.f(2, 9, 4)));
        c.add(concat("shape", "shift of another width", x -> x.f(2, 5, 4), x -> x.f(3, 2, 4), x -> x.i(2, 2),
                x -> x.f(5), x -> x.f(2, 9, 4)));
        c.add(new Bad(pc, "argument", "a selected prompt beyond the pool", x -> {
            if (x.be instanceof TrapBackend) return null; // the check reads the indices, a hook the trap forbids
            Tensor t = x.f(2, 5, 4), p = x.f(3, 2, 4), o = x.f(2, 9, 4);
            Tensor sel = x.be.fromArray(new int[] {0, 1, 3, 2}, 2, 2);
            return () -> x.be.promptConcat(t, p, sel, null, o);
        }));
        c.add(concat("dtype", "f32 selected", x -> x.f(2, 5, 4), x -> x.f(3, 2, 4), x -> x.f(2, 2), null,
                x -> x.f(2, 9, 4)));
        c.add(concat("device", "pool on the other device", x -> x.f(2, 5, 4), x -> x.foreign(3, 2, 4), x -> x.i(2, 2),
                null, x -> x.f(2, 9, 4)));
        c.add(concat("closed", "closed tokens", x -> x.closed(2, 5, 4), x -> x.f(3, 2, 4), x -> x.i(2, 2), null,
                x -> x.f(2, 9, 4)));
        c.add(concatBackward("shape", "dOut with no class token row", x -> x.f(2, 4, 4), x -> x.i(2, 2),
                x -> x.f(3, 2, 4), null));
        c.add(concatBackward("shape", "dTokens of another length", x -> x.f(2, 9, 4), x -> x.i(2, 2), x -> x.f(3, 2, 4),
                x -> x.f(2, 6, 4)));
        c.add(concatBackward("dtype", "i32 dPool", x -> x.f(2, 9, 4), x -> x.i(2, 2), x -> x.i(3, 2, 4), null));
        c.add(concatBackward("device", "dTokens on the other device", x -> x.f(2, 9, 4), x -> x.i(2, 2),
                x -> x.f(3, 2, 4), x -> x.foreign(2, 5, 4)));
        c.add(concatBackward("closed", "closed dOut", x -> x.closed(2, 9, 4), x -> x.i(2, 2), x -> x.f(3, 2, 4), null));
        // mean over a token range: tokens [2, 5, 4], means [2, 4]
        String trm = "tokenRangeMean(Tensor, int, int, Tensor)", trmb = "tokenRangeMeanBackward(Tensor, int, int, Tensor)";
        for (String op : new String[] {trm, trmb}) {
            boolean fwd = op.equals(trm);
            c.add(rangeMean(op, fwd, "shape", "a range past the last token", x -> x.f(2, 5, 4), x -> x.f(2, 4), 3, 3));
            c.add(rangeMean(op, fwd, "shape", "an empty range", x -> x.f(2, 5, 4), x -> x.f(2, 4), 1, 0));
            c.add(rangeMean(op, fwd, "shape", "means of another width", x -> x.f(2, 5, 4), x -> x.f(2, 3), 1, 2));
            c.add(rangeMean(op, fwd, "dtype", "i32 means", x -> x.f(2, 5, 4), x -> x.i(2, 4), 1, 2));
            c.add(rangeMean(op, fwd, "device", "tokens on the other device", x -> x.foreign(2, 5, 4), x -> x.f(2, 4), 1, 2));
            c.add(rangeMean(op, fwd, "closed", "closed tokens", x -> x.closed(2, 5, 4), x -> x.f(2, 4), 1, 2));
        }
        componentWeightingCases(c);
        return c;
    }

    /** A bad cosineMatch call over queries, keys, scores and selection built by the fixture. */
    private static Bad match(String kind, String what, int topN, Function<Fixture, Tensor> queries,
            Function<Fixture, Tensor> keys, Function<Fixture, Tensor> scores, Function<Fixture, Tensor> selected) {
        return new Bad("cosineMatch(Tensor, Tensor, int, boolean, Tensor, Tensor)", kind, what, x -> {
            Tensor q = queries.apply(x), k = keys.apply(x), s = scores.apply(x), sel = selected.apply(x);
            return () -> x.be.cosineMatch(q, k, topN, kind.equals("shape"), s, sel);
        });
    }

    /** A bad promptConcat call; a null shift builder means no shift. */
    private static Bad concat(String kind, String what, Function<Fixture, Tensor> tokens, Function<Fixture, Tensor> pool,
            Function<Fixture, Tensor> selected, Function<Fixture, Tensor> shift, Function<Fixture, Tensor> out) {
        return new Bad("promptConcat(Tensor, Tensor, Tensor, Tensor, Tensor)", kind, what, x -> {
            Tensor t = tokens.apply(x), p = pool.apply(x), sel = selected.apply(x), o = out.apply(x);
            Tensor sh = shift == null ? null : shift.apply(x);
            return () -> x.be.promptConcat(t, p, sel, sh, o);
        });
    }

    /** A bad promptConcatBackward call; a null dTokens builder means no token gradient. */
    private static Bad concatBackward(String kind, String what, Function<Fixture, Tensor> dOut,
            Function<Fixture, Tensor> selected, Function<Fixture, Tensor> dPool, Function<Fixture, Tensor> dTokens) {
        return new Bad("promptConcatBackward(Tensor, Tensor, Tensor, Tensor)", kind, what, x -> {
            Tensor d = dOut.apply(x), sel = selected.apply(x), dp = dPool.apply(x);
            Tensor dt = dTokens == null ? null : dTokens.apply(x);
            return () -> x.be.promptConcatBackward(d, sel, dp, dt);
        });
    }

    /** A bad call of tokenRangeMean (fwd) or its backward over tokens and means built by the fixture. */
    private static Bad rangeMean(String op, boolean fwd, String kind, String what, Function<Fixture, Tensor> tokens,
            Function<Fixture, Tensor> means, int from, int count) {
        return new Bad(op, kind, what, x -> {
            Tensor t = tokens.apply(x), m = means.apply(x);
            return fwd ? () -> x.be.tokenRangeMean(t, from, count, m) : () -> x.be.tokenRangeMeanBackward(m, from, count, t);
        });
    }

    private static final String CW = "componentWeighting(ComponentInputs, Tensor, Tensor)";
    private static final String CWB = "componentWeightingBackward(ComponentInputs, Tensor, int, Tensor, Tensor, Tensor)";

    /** Component weighting over 2 layers of 4 components (3 used), width 5, rows of 6, batch 2. */
    private static ComponentInputs cw(Tensor queries, Tensor keys, Tensor attention, Tensor components, int used) {
        return new ComponentInputs(queries, keys, attention, components, used);
    }

    private static ComponentInputs cw(Fixture x) {
        return cw(x.f(2, 5), x.f(2, 4, 5), x.f(2, 4, 5), x.f(2, 4, 6), 3);
    }

    private static void componentWeightingCases(List<Bad> c) {
        c.add(new Bad(CW, "shape", "used beyond the components", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.f(2, 4, 5), x.f(2, 4, 5), x.f(2, 4, 6), 5);
            Tensor alpha = x.f(2, 2, 5), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "shape", "no component used", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.f(2, 4, 5), x.f(2, 4, 5), x.f(2, 4, 6), 0);
            Tensor alpha = x.f(2, 2, 0), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "shape", "attention of another width", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.f(2, 4, 5), x.f(2, 4, 6), x.f(2, 4, 6), 3);
            Tensor alpha = x.f(2, 2, 3), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "shape", "components of another count", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.f(2, 4, 5), x.f(2, 4, 5), x.f(2, 3, 6), 3);
            Tensor alpha = x.f(2, 2, 3), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "shape", "alpha over all components", x -> {
            ComponentInputs in = cw(x);
            Tensor alpha = x.f(2, 2, 4), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "dtype", "i32 queries", x -> {
            ComponentInputs in = cw(x.i(2, 5), x.f(2, 4, 5), x.f(2, 4, 5), x.f(2, 4, 6), 3);
            Tensor alpha = x.f(2, 2, 3), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "device", "keys on the other device", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.foreign(2, 4, 5), x.f(2, 4, 5), x.f(2, 4, 6), 3);
            Tensor alpha = x.f(2, 2, 3), out = x.f(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CW, "closed", "closed output", x -> {
            ComponentInputs in = cw(x);
            Tensor alpha = x.f(2, 2, 3), out = x.closed(2, 2, 6);
            return () -> x.be.componentWeighting(in, alpha, out);
        }));
        c.add(new Bad(CWB, "shape", "from beyond used", x -> {
            ComponentInputs in = cw(x);
            Tensor d = x.f(2, 2, 6), dk = x.f(2, 4, 5), da = x.f(2, 4, 5), dp = x.f(2, 4, 6);
            return () -> x.be.componentWeightingBackward(in, d, 4, dk, da, dp);
        }));
        c.add(new Bad(CWB, "shape", "negative from", x -> {
            ComponentInputs in = cw(x);
            Tensor d = x.f(2, 2, 6), dk = x.f(2, 4, 5), da = x.f(2, 4, 5), dp = x.f(2, 4, 6);
            return () -> x.be.componentWeightingBackward(in, d, -1, dk, da, dp);
        }));
        c.add(new Bad(CWB, "shape", "dComponents of the used rows only", x -> {
            ComponentInputs in = cw(x);
            Tensor d = x.f(2, 2, 6), dk = x.f(2, 4, 5), da = x.f(2, 4, 5), dp = x.f(2, 3, 6);
            return () -> x.be.componentWeightingBackward(in, d, 1, dk, da, dp);
        }));
        c.add(new Bad(CWB, "dtype", "i32 dOut", x -> {
            ComponentInputs in = cw(x);
            Tensor d = x.i(2, 2, 6), dk = x.f(2, 4, 5), da = x.f(2, 4, 5), dp = x.f(2, 4, 6);
            return () -> x.be.componentWeightingBackward(in, d, 1, dk, da, dp);
        }));
        c.add(new Bad(CWB, "device", "dAttention on the other device", x -> {
            ComponentInputs in = cw(x);
            Tensor d = x.f(2, 2, 6), dk = x.f(2, 4, 5), da = x.foreign(2, 4, 5), dp = x.f(2, 4, 6);
            return () -> x.be.componentWeightingBackward(in, d, 1, dk, da, dp);
        }));
        c.add(new Bad(CWB, "closed", "closed attention", x -> {
            ComponentInputs in = cw(x.f(2, 5), x.f(2, 4, 5), x.closed(2, 4, 5), x.f(2, 4, 6), 3);
            Tensor d = x.f(2, 2, 6), dk = x.f(2, 4, 5), da = x.f(2, 4, 5), dp = x.f(2, 4, 6);
            return () -> x.be.componentWeightingBackward(in, d, 1, dk, da, dp);
        }));
    }

    // ------------------------------------------------------------------ the public ops

    /**
     * The kinds of case an op needs: dtype, device and closed if it takes tensors; shape if it
     * takes a shape or more than one tensor (a single tensor of any shape is valid).
     */
    private static Set<String> requiredKinds(Method m) {
        long tensors = Arrays.stream(m.getParameterTypes()).filter(t -> t == Tensor.class || t == AttentionInputs.class
                || t == RetrievalInputs.class || t == AttentionGrads.class || t == ComponentInputs.class).count();
        boolean shape = Arrays.asList(m.getParameterTypes()).contains(long[].class);
        Set<String> kinds = new TreeSet<>();
        if (tensors > 0) kinds.addAll(TENSOR_KINDS);
        if (tensors > 1 || shape || (tensors == 1 && m.getParameterCount() > 1)) kinds.add("shape");
        return kinds;
    }

    @Test
    void everyPublicOpHasBoundaryCases() {
        Map<String, Set<String>> kinds = new LinkedHashMap<>();
        for (Bad b : cases()) kinds.computeIfAbsent(b.op(), k -> new TreeSet<>()).add(b.kind());
        List<String> gaps = PublicOps.uncovered(PublicOps::signature, kinds, NativeBoundaryTest::requiredKinds);
        assertTrue(gaps.isEmpty(), "public Backend ops without boundary cases in NativeBoundaryTest.cases():\n  "
                + String.join("\n  ", gaps));
        for (Method m : PublicOps.all()) {
            assertTrue(Modifier.isFinal(m.getModifiers()),
                    PublicOps.signature(m) + " must be final so that no backend can skip its checks");
        }
    }

    static Stream<String> backends() {
        return Stream.concat(Stream.of("trap"), TestBackends.all());
    }

    private static Backend open(String name) {
        return name.equals("trap") ? new TrapBackend() : TestBackends.open(name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void badInputIsRefusedBeforeTheImplementation(String backend) {
        try (Backend be = open(backend); TensorScope scope = TensorScope.open()) {
            Fixture x = new Fixture(be);
            TrapBackend trap = be instanceof TrapBackend t ? t : null;
            List<String> problems = new ArrayList<>();
            int run = 0;
            for (Bad b : cases()) {
                Executable call = b.call().apply(x);
                if (call == null) continue;
                run++;
                if (trap != null) trap.armed = true;
                try {
                    call.execute();
                    problems.add(b + ": no exception");
                } catch (IllegalArgumentException | IllegalStateException e) {
                    if (e.getMessage() == null || !e.getMessage().contains(b.name())) {
                        problems.add(b + ": message does not name the op: " + e.getMessage());
                    }
                } catch (Throwable t) {
                    problems.add(b + ": " + t);
                } finally {
                    if (trap != null) trap.armed = false;
                }
            }
            x.close();
            if (trap != null) assertEquals(List.of(), trap.reached, "implementation hooks reached with bad input");
            assertTrue(problems.isEmpty(), backend + ": " + problems.size() + " of " + run + " bad calls not refused"
                    + " properly:\n  " + String.join("\n  ", problems));
            assertTrue(run > cases().size() / 2, "only " + run + " cases ran");
        }
    }

    /** Placeholder arguments for a reflective call: zero, false, or null. */
    private static Object[] blanks(Method m) {
        Class<?>[] types = m.getParameterTypes();
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            Class<?> t = types[i];
            if (t == boolean.class) args[i] = false;
            else if (t == int.class) args[i] = 0;
            else if (t == long.class) args[i] = 0L;
            else if (t == float.class) args[i] = 0f;
            else if (t == double.class) args[i] = 0d;
        }
        return args;
    }

    private static Throwable invoke(Backend be, Method m, Object[] args) {
        try {
            m.invoke(be, args);
            return null;
        } catch (InvocationTargetException e) {
            return e.getCause();
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void nullsAreRefusedByNameNotWithANullPointerException(String backend) {
        try (Backend be = open(backend)) {
            TrapBackend trap = be instanceof TrapBackend t ? t : null;
            for (Method m : PublicOps.all()) {
                if (m.getParameterCount() == 0) continue;
                if (trap != null) trap.armed = true;
                Throwable t = invoke(be, m, blanks(m));
                if (trap != null) trap.armed = false;
                String sig = PublicOps.signature(m);
                if (!(t instanceof IllegalArgumentException || t instanceof IllegalStateException)) {
                    fail(sig + " with null arguments threw " + t + " instead of an IllegalArgumentException");
                }
                assertTrue(t.getMessage().contains(m.getName()), sig + ": " + t.getMessage());
            }
            if (trap != null) assertEquals(List.of(), trap.reached);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void aClosedBackendRefusesEveryOpAndClosesTwiceHarmlessly(String backend) {
        Backend be = open(backend);
        Tensor survivor = TensorScope.detach(be.zeros(3));
        be.close();
        be.close();
        assertTrue(be.isClosed());
        for (Method m : PublicOps.all()) {
            Throwable t = invoke(be, m, blanks(m));
            String sig = PublicOps.signature(m);
            assertTrue(t instanceof IllegalStateException, sig + " on a closed backend threw " + t);
            assertTrue(t.getMessage().contains(m.getName()) && t.getMessage().contains("closed"), sig + ": " + t.getMessage());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.toFloatArray(survivor));
        assertTrue(e.getMessage().startsWith("toFloatArray:"), e.getMessage());
        assertFalse(survivor.isClosed(), "a tensor stays valid when its backend closes");
        survivor.close();
        survivor.close();
    }
}
