package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input is a clear Java exception naming the op and the shapes, raised before native code. */
class ValidationTest {
    private final Backend cpu = new CpuBackend();
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static <T extends Throwable> String message(Class<T> type, Executable call) {
        return assertThrows(type, call).getMessage();
    }

    @Test
    void gemmShapeMismatchNamesOpAndShapes() {
        Tensor a = cpu.zeros(3, 4), b = cpu.zeros(5, 6), c = cpu.zeros(3, 6);
        String msg = message(IllegalArgumentException.class, () -> cpu.gemm(a, false, b, false, c, 1, 0));
        assertTrue(msg.startsWith("gemm:"), msg);
        assertTrue(msg.contains("[3, 4]") && msg.contains("[5, 6]") && msg.contains("[3, 6]"), msg);
    }

    @Test
    void layerNormWrongGammaShape() {
        Tensor x = cpu.zeros(2, 8);
        String msg = message(IllegalArgumentException.class, () -> cpu.layerNorm(x, cpu.zeros(7), cpu.zeros(8), 1e-6f,
                cpu.zeros(2, 8), cpu.zeros(2), cpu.zeros(2)));
        assertTrue(msg.contains("layerNorm") && msg.contains("gamma") && msg.contains("[7]"), msg);
    }

    @Test
    void wrongDtypeIsRejected() {
        Tensor ints = cpu.fromArray(new int[] {1, 2, 3}, 3);
        String msg = message(IllegalArgumentException.class, () -> cpu.softmax(ints, cpu.zeros(3)));
        assertTrue(msg.contains("softmax") && msg.contains("F32"), msg);
    }

    @Test
    void opsWithoutABf16FormRefuseItNamingOpDtypesAndBackend() {
        Tensor p = cpu.empty(DType.BF16, 4);
        String msg = message(IllegalArgumentException.class, () -> cpu.sgdStep(p, cpu.zeros(4), 0.1f, 0f));
        assertTrue(msg.contains("sgdStep") && msg.contains("F32"), msg);
        // A backend without the form names the op, every operand's dtype and itself.
        try (NativeBoundaryTest.TrapBackend noForms = new NativeBoundaryTest.TrapBackend()) {
            Tensor x = noForms.empty(DType.BF16, 2, 3), y = noForms.zeros(2, 3);
            noForms.bf16Forms = false;
            String refused = message(IllegalArgumentException.class,
                    () -> noForms.activation(Activation.GELU, x, y));
            assertTrue(refused.contains("activation") && refused.contains("x=BF16") && refused.contains("y=F32")
                    && refused.contains("trap"), refused);
        }
    }

    @Test
    void closedTensorIsIllegalState() {
        Tensor x = cpu.zeros(4);
        x.close();
        String msg = message(IllegalStateException.class, () -> cpu.activation(Activation.GELU, x, cpu.zeros(4)));
        assertTrue(msg.contains("activation") && msg.contains("closed"), msg);
        assertThrows(IllegalStateException.class, () -> cpu.toFloatArray(x));
    }

    @Test
    void viewOfClosedTensorIsIllegalState() {
        Tensor x = cpu.zeros(4, 2);
        Tensor row = x.rows(1, 2);
        x.close();
        assertThrows(IllegalStateException.class, () -> cpu.toFloatArray(row));
    }

    @Test
    void indicesOutOfRange() {
        Tensor logits = cpu.zeros(2, 5);
        String msg = message(IllegalArgumentException.class,
                () -> cpu.crossEntropy(logits, new int[] {1, 4}, 2, 5, null));
        assertTrue(msg.contains("labels[0] = 1") && msg.contains("[2, 5)"), msg);
        assertThrows(IllegalArgumentException.class,
                () -> cpu.embeddingGather(cpu.zeros(3, 2), new int[] {3}, cpu.zeros(1, 2)));
        assertThrows(IllegalArgumentException.class,
                () -> cpu.tokenGather(cpu.zeros(2, 3, 4), new int[] {0, -1}, cpu.zeros(2, 4)));
        String nullIds = message(IllegalArgumentException.class,
                () -> cpu.embeddingGather(cpu.zeros(3, 2), null, cpu.zeros(1, 2)));
        assertTrue(nullIds.contains("ids is null"), nullIds);
    }

    @Test
    void attentionArgumentsAreChecked() {
        Tensor q = cpu.zeros(2, 5, 8);
        assertThrows(IllegalArgumentException.class, () -> cpu.attention(
                AttentionInputs.plain(q, q, q, 3, false), cpu.zeros(2, 5, 8), cpu.zeros(2, 3, 5)));
        AttentionInputs prefixWithoutValues = new AttentionInputs(q, q, q, cpu.zeros(2, 1, 8), null, null, 2, 1f, false);
        assertThrows(IllegalArgumentException.class,
                () -> cpu.attention(prefixWithoutValues, cpu.zeros(2, 5, 8), cpu.zeros(2, 2, 5)));
        AttentionInputs withResidual = new AttentionInputs(q, q, q, null, null, cpu.zeros(2, 8), 2, 1f, false);
        String msg = message(IllegalArgumentException.class, () -> cpu.attentionBackward(withResidual,
                cpu.zeros(2, 5, 8), cpu.zeros(2, 2, 5), cpu.zeros(2, 5, 8),
                new AttentionGrads(cpu.zeros(2, 5, 8), cpu.zeros(2, 5, 8), cpu.zeros(2, 5, 8), null, null, null)));
        assertTrue(msg.contains("dResidual"), msg);
    }

    @Test
    void unknownKernelVariantListsChoices() {
        String msg = message(IllegalArgumentException.class, () -> cpu.kernels().select("attention", "flash"));
        assertTrue(msg.contains("[tiled, naive]"), msg);
        String op = message(IllegalArgumentException.class, () -> cpu.kernels().select("atention", "tiled"));
        assertTrue(op.contains("attention"), op);
        Properties props = new Properties();
        props.setProperty("starprompt.kernel.gemm", "fast");
        KernelRegistry registry = new KernelRegistry("cpu", Map.of("gemm", List.of("openblas", "naive")));
        assertThrows(IllegalArgumentException.class, () -> registry.applyProperties(props));
    }

    @Test
    void kernelPropertySelectsVariant() {
        Properties props = new Properties();
        props.setProperty("starprompt.kernel.gemm", "naive");
        KernelRegistry registry = new KernelRegistry("cpu", Map.of("gemm", List.of("openblas", "naive")));
        assertEquals("naive", registry.applyProperties(props).selected("gemm"));
    }

    @Test
    void unknownBackendListsChoices() {
        String msg = message(IllegalArgumentException.class, () -> Backends.create("tpu"));
        assertTrue(msg.contains("reference") && msg.contains("cpu") && msg.contains("cuda"), msg);
    }
}
