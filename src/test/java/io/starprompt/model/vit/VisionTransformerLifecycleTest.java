package io.starprompt.model.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.GoldenSet;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.model.HeldModel;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Closing, use after close, and the one-thread rule of {@link VisionTransformer}, on the CPU
 * backend with the golden checkpoint; and the check of images entering the model.
 */
class VisionTransformerLifecycleTest {
    private static VisionTransformer load(Backend be) throws IOException {
        try (GoldenSet g = GoldenSet.open()) {
            return VisionTransformer.load(be, g.path("vit.safetensors"), g.metaInt("vit", "num_heads"));
        }
    }

    private static float[] images(VitConfig c, int batch, long seed) {
        Random r = new Random(seed);
        float[] x = new float[batch * c.channels() * c.imageSize() * c.imageSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private static void assertClosed(Executable call, String op, String what) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        assertTrue(e.getMessage().startsWith(op + ":") && e.getMessage().contains(what), e.getMessage());
    }

    @Test
    void closingTwiceIsHarmlessAndEveryCallAfterwardsIsIllegalState() throws IOException {
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            VisionTransformer vit = load(be);
            VitConfig c = vit.config();
            Tensor x = vit.images(images(c, 2, 1), 2);
            Activations act = vit.forward(x, Prompts.none());
            Tensor dTokens = be.zeros(2, c.tokens(), c.width());
            vit.close();
            vit.close();
            assertClosed(() -> vit.forward(x, Prompts.none()), "forward", "closed");
            assertClosed(() -> vit.forwardPooled(x, Prompts.none()), "forward", "closed");
            assertClosed(() -> vit.encode(x, Prompts.none()), "forward", "closed");
            assertClosed(() -> vit.encodePooled(x, Prompts.none()), "forward", "closed");
            assertClosed(() -> vit.backward(act, dTokens, true), "backward", "closed");
            assertClosed(() -> vit.backwardPooled(act, be.zeros(2, c.width()), true), "backwardPooled", "closed");
            assertClosed(() -> vit.images(images(c, 1, 2), 1), "images", "closed");
            assertEquals(c, vit.config(), "the configuration stays readable");
        }
    }

    @Test
    void aClosedBackendMakesTheModelRefuseWorkAndCloseStaysHarmless() throws IOException {
        Backend be = Backends.create("cpu");
        VisionTransformer vit = load(be);
        float[] x = images(vit.config(), 1, 3);
        be.close();
        assertClosed(() -> vit.images(x, 1), "fromArray", "cpu backend is closed");
        vit.close();
        vit.close();
    }

    @Test
    void aSecondThreadIsRefusedWhileOneIsInside() throws Exception {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            Tensor x = vit.images(images(vit.config(), 2, 4), 2);
            try (HeldModel held = HeldModel.hold(vit.exclusiveUse())) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> vit.encode(x, Prompts.none()));
                assertTrue(e.getMessage().startsWith("encode: this VisionTransformer is in use by thread 'holder'"),
                        e.getMessage());
                e = assertThrows(IllegalStateException.class, vit::close);
                assertTrue(e.getMessage().startsWith("close: ") && e.getMessage().contains("'holder'"), e.getMessage());
            }
            assertEquals(2, vit.encodePooled(x, Prompts.none()).dim(0), "usable again after the holder left");
        }
    }

    /** Two threads hammering one model: every call either computes the right result or is refused clearly. */
    @Test
    void concurrentCallsEitherWorkOrAreRefusedNeverCorrupt() throws Exception {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = load(be)) {
            float[] x = images(vit.config(), 2, 5);
            float[] expected;
            try (TensorScope s = TensorScope.open()) {
                expected = be.toFloatArray(vit.encodePooled(vit.images(x, 2), Prompts.none()));
            }
            AtomicInteger refused = new AtomicInteger(), computed = new AtomicInteger();
            Map<String, Throwable> wrong = new ConcurrentHashMap<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                threads.add(new Thread(() -> {
                    for (int i = 0; i < 200; i++) {
                        try (TensorScope s = TensorScope.open()) {
                            Tensor images = vit.images(x, 2);
                            float[] got = be.toFloatArray(vit.encodePooled(images, Prompts.none()));
                            assertArrayEquals(expected, got);
                            computed.incrementAndGet();
                        } catch (IllegalStateException e) {
                            if (e.getMessage().contains("is in use by thread")) refused.incrementAndGet();
                            else wrong.put(Thread.currentThread().getName(), e);
                        } catch (Throwable e) {
                            wrong.put(Thread.currentThread().getName(), e);
                        }
                    }
                }, "worker-" + t));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) t.join();
            System.out.println("concurrent encodes on one ViT: " + computed.get() + " computed correctly, " + refused.get()
                    + " refused (in use by the other thread)");
            assertTrue(wrong.isEmpty(), "calls that neither worked nor were refused: " + wrong);
            assertEquals(400, computed.get() + refused.get());
            assertTrue(computed.get() > 0);
        }
    }

    @Test
    void imagesOfAnotherSizeAreRefusedNamingBothSizes() throws IOException {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = load(be)) {
            int side = vit.config().imageSize(), other = side + 24;
            float[] big = new float[24 * 3 * other * other];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vit.images(big, 24));
            assertTrue(e.getMessage().contains("24 images of 3×" + other + "×" + other)
                    && e.getMessage().contains("takes 3×" + side + "×" + side), e.getMessage());
            IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
                    () -> vit.images(new float[7], 2));
            assertTrue(ragged.getMessage().contains("7 values") && ragged.getMessage().contains(side + " px"),
                    ragged.getMessage());
        }
    }
}
