package io.starprompt.model.clip;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Closing, use after close, and the one-thread rule of {@link Clip}, on the CPU backend. */
class ClipLifecycleTest {
    private static Clip load(Backend be) throws IOException {
        try (GoldenSet g = GoldenSet.open()) {
            return Clip.load(be, g.path("clip.safetensors"), g.path("clip_config.json"));
        }
    }

    private static int[][] ids(Clip clip) {
        int eos = clip.config().text().eosTokenId();
        return new int[][] {{eos - 1, 5, 6, eos}, {eos - 1, 7, eos}};
    }

    private static float[] pixels(ClipConfig.Vision v, int batch) {
        float[] x = new float[batch * v.channels() * v.imageSize() * v.imageSize()];
        for (int i = 0; i < x.length; i++) x[i] = (i % 17) / 17f - 0.5f;
        return x;
    }

    private static void assertClosed(Executable call, String op) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        assertTrue(e.getMessage().startsWith(op + ":") && e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void closingTwiceIsHarmlessAndEveryCallAfterwardsIsIllegalState() throws IOException {
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            Clip clip = load(be);
            ClipConfig c = clip.config();
            Tensor px = clip.pixels(pixels(c.vision(), 2), 2);
            Tensor ctx = be.zeros(2, 1, c.text().width());
            TextActivations act = clip.textForward(ids(clip), ctx, 1);
            clip.close();
            clip.close();
            assertClosed(() -> clip.imageFeatures(px), "imageFeatures");
            assertClosed(() -> clip.visionLastHiddenState(px), "visionLastHiddenState");
            assertClosed(() -> clip.textFeatures(ids(clip)), "textFeatures");
            assertClosed(() -> clip.textFeatures(ids(clip), ctx, 1), "textFeatures");
            assertClosed(() -> clip.textForward(ids(clip), ctx, 1), "textForward");
            assertClosed(() -> clip.textBackward(act, be.zeros(2, c.projectionDim())), "textBackward");
            assertClosed(clip::logitScale, "logitScale");
            assertClosed(() -> clip.pixels(pixels(c.vision(), 1), 1), "pixels");
        }
    }

    @Test
    void aClosedBackendMakesTheModelRefuseWork() throws IOException {
        Backend be = Backends.create("cpu");
        Clip clip = load(be);
        be.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> clip.textFeatures(ids(clip)));
        assertTrue(e.getMessage().contains("cpu backend is closed"), e.getMessage());
        clip.close();
        clip.close();
    }

    @Test
    void aSecondThreadIsRefusedWhileOneIsInside() throws Exception {
        try (Backend be = Backends.create("cpu"); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            Tensor px = clip.pixels(pixels(clip.config().vision(), 1), 1);
            try (HeldModel held = HeldModel.hold(clip.exclusiveUse())) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> clip.imageFeatures(px));
                assertTrue(e.getMessage().startsWith("imageFeatures: this Clip is in use by thread 'holder'"),
                        e.getMessage());
                e = assertThrows(IllegalStateException.class, () -> clip.textFeatures(ids(clip)));
                assertTrue(e.getMessage().startsWith("textFeatures: "), e.getMessage());
                assertThrows(IllegalStateException.class, clip::close);
            }
            assertEquals(1, clip.imageFeatures(px).dim(0));
        }
    }

    @Test
    void pixelsOfAnotherSizeAreRefusedNamingBothSizes() throws IOException {
        try (Backend be = Backends.create("cpu"); Clip clip = load(be)) {
            int side = clip.config().vision().imageSize();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> clip.pixels(new float[4 * 3 * 8 * 8], 4));
            assertTrue(e.getMessage().contains("CLIP image tower input: 4 images of 3×8×8")
                    && e.getMessage().contains("3×" + side + "×" + side), e.getMessage());
        }
    }
}
