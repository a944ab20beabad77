package io.starprompt.method.l2p;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static io.starprompt.TestVectors.gaussian;
import static io.starprompt.TestVectors.moved;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * L2P on a tiny random ViT (16 px, patch 8, width 32, 2 blocks): the batch loss against a host
 * computation of CE − λ·R from the inference path's logits and the cosine scores, the gradient of
 * every trainable tensor against finite differences on the float64 reference backend, the CPU
 * backend against the reference, learning a 2-task synthetic stream above chance, and
 * save → restore → continue equal to an uninterrupted run.
 */
class L2PTest {
    private static final int CLASSES = 6, PAST = 2, SEEN = 4, BATCH = 4, HEADS = 4;
    private static final L2PConfig SMALL = L2PConfig.builder().set(L2PConfig::poolSize, 5)
            .set(L2PConfig::promptLength, 2).set(L2PConfig::topN, 2).set(L2PConfig::pullWeight, 0.5f).build();

    @TempDir
    static Path dir;

    private static Path vitFile() throws IOException {
        Path p = dir.resolve("vit.safetensors");
        if (!p.toFile().exists()) RandomCheckpoints.writeVit(p, new RandomCheckpoints.Tower(16, 8, 32, 2, HEADS), 3);
        return p;
    }

    /** One batch's loss and gradients on a backend, from the same initialisation and inputs. */
    private record Outcome(double loss, double crossEntropy, double pull, float[][] grads) {}

    private static final int[] LABELS = {2, 3, 3, 2};

    private static Outcome outcome(L2PModel model, Tensor images) {
        Backend be = model.vit().backend();
        try (TensorScope scope = TensorScope.open();
                L2PModel.Result r = model.lossAndGradients(images, model.queries(images), LABELS, PAST, SEEN)) {
            float[][] g = r.gradients().stream().map(be::toFloatArray).toArray(float[][]::new);
            return new Outcome(r.loss(), r.crossEntropy(), r.pull(), g);
        }
    }

    private static Tensor images(Backend be, int side) {
        return be.fromArray(gaussian(new Random(8), BATCH * 3 * side * side, 1), BATCH, 3, side, side);
    }

    /** The tiny ViT and an L2P model initialised from seed 1 on a backend, in an open tensor scope. */
    private record Setup(Backend be, VisionTransformer vit, L2PModel model, TensorScope scope) implements AutoCloseable {
        static Setup open(String backend) throws IOException {
            Backend be = Backends.create(backend);
            VisionTransformer vit = VisionTransformer.load(be, vitFile(), HEADS);
            return new Setup(be, vit, L2PModel.initialised(vit, CLASSES, SMALL, 1), TensorScope.open());
        }

        Tensor images() {
            return L2PTest.images(be, 16);
        }

        @Override
        public void close() {
            scope.close();
            model.close();
            vit.close();
            be.close();
        }
    }

    @Test
    void lossIsTheMaskedCrossEntropyMinusTheWeightedPullOfTheChosenKeys() throws IOException {
        try (Setup x = Setup.open("reference")) {
            Backend be = x.be();
            L2PModel model = x.model();
            Tensor images = x.images(), queries = model.queries(images);
            Outcome o = outcome(model, images);
            float[] logits = be.toFloatArray(model.logits(images, queries));
            double ce = 0;
            for (int b = 0; b < BATCH; b++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int c = PAST; c < SEEN; c++) max = Math.max(max, logits[b * CLASSES + c]);
                for (int c = PAST; c < SEEN; c++) sum += Math.exp(logits[b * CLASSES + c] - max);
                ce += max + Math.log(sum) - logits[b * CLASSES + LABELS[b]];
            }
            ce /= BATCH;
            double pull = hostPull(be.toFloatArray(queries), be.toFloatArray(model.parameters().get(1)),
                    (int) queries.dim(1));
            assertEquals(ce, o.crossEntropy(), 1e-5 * Math.abs(ce) + 1e-6, "cross-entropy over [past, seen)");
            assertEquals(pull, o.pull(), 1e-5, "R");
            assertEquals(ce - 0.5 * pull, o.loss(), 1e-5, "L = CE − λ·R");
        }
    }

    /** R from the definition: per image the sum of its N best cosine similarities, batch mean. */
    private static double hostPull(float[] q, float[] k, int d) {
        int pool = k.length / d;
        double total = 0;
        for (int b = 0; b < BATCH; b++) {
            double[] s = new double[pool];
            for (int j = 0; j < pool; j++) {
                double qk = 0, qq = 0, kk = 0;
                for (int c = 0; c < d; c++) {
                    qk += (double) q[b * d + c] * k[j * d + c];
                    qq += (double) q[b * d + c] * q[b * d + c];
                    kk += (double) k[j * d + c] * k[j * d + c];
                }
                s[j] = qk / Math.sqrt(qq * kk);
            }
            double[] sorted = s.clone();
            java.util.Arrays.sort(sorted);
            for (int n = 0; n < SMALL.topN(); n++) total += sorted[pool - 1 - n];
        }
        return total / BATCH;
    }

    @Test
    void gradientsOfPoolKeysAndHeadMatchFiniteDifferences() throws IOException {
        try (Setup x = Setup.open("reference")) {
            Tensor images = x.images();
            Outcome o = outcome(x.model(), images);
            Backend be = x.be();
            L2PModel model = x.model();
            assertRowsZero(o.grads()[2], 32, 0, PAST, "head rows of past classes");
            assertRowsZero(o.grads()[2], 32, SEEN, CLASSES, "head rows of future classes");
            List<Tensor> params = model.parameters();
            Random r = new Random(17);
            String[] names = {"pool", "keys", "head weight", "head bias"};
            for (int p = 0; p < params.size(); p++) {
                Tensor param = params.get(p);
                float[] base = be.toFloatArray(param);
                float[] dir = gaussian(r, base.length, 1);
                double analytic = 0;
                for (int i = 0; i < dir.length; i++) analytic += (double) dir[i] * o.grads()[p][i];
                double h = 1e-3;
                be.copy(be.fromArray(moved(base, dir, h), param.shape()), param);
                double plus = outcome(model, images).loss();
                be.copy(be.fromArray(moved(base, dir, -h), param.shape()), param);
                double minus = outcome(model, images).loss();
                be.copy(be.fromArray(base, param.shape()), param);
                double fd = (plus - minus) / (2 * h);
                assertTrue(Math.abs(analytic) > 1e-3, names[p] + ": directional derivative too small to test");
                assertEquals(fd, analytic, 0.02 * Math.abs(fd) + 1e-4, names[p] + ": fd " + fd + " analytic " + analytic);
            }
        }
    }

    private static void assertRowsZero(float[] g, int width, int from, int to, String what) {
        for (int i = from * width; i < to * width; i++) assertEquals(0f, g[i], what);
    }

    @Test
    void cpuBackendMatchesTheReference() throws IOException {
        Outcome ref, cpu;
        try (Setup x = Setup.open("reference")) {
            ref = outcome(x.model(), x.images());
        }
        try (Setup x = Setup.open("cpu")) {
            cpu = outcome(x.model(), x.images());
        }
        assertEquals(ref.loss(), cpu.loss(), 1e-4);
        for (int p = 0; p < ref.grads().length; p++) assertArrayEquals(ref.grads()[p], cpu.grads()[p], 2e-4f, "gradient " + p);
    }

    // ------------------------------------------------------------------ end to end

    private static final L2PConfig TRAIN = L2PConfig.builder().set(L2PConfig::poolSize, 6)
            .set(L2PConfig::promptLength, 2).set(L2PConfig::topN, 2).set(L2PConfig::epochs, 4)
            .set(L2PConfig::batchSize, 16).set(L2PConfig::baseLearningRate, 0.4f)
            .set(L2PConfig::evalBatchSize, 32).build();
    private static final long SEED = 9;

    private static TaskData stream() {
        return SyntheticTaskData.builder().classes(4).tasks(2).trainPerClass(24).testPerClass(12).noise(0.1)
                .seed(SEED).imageSize(16).build();
    }

    private static ContinualRun.Checkpointing checkpointing(Path d, L2P method, TaskData data) {
        return new ContinualRun.Checkpointing(d, RunIdentity.of(method, data, SEED), Map.of());
    }

    @Test
    void learnsATwoTaskStreamAboveChanceAndResumesToTheSameResult() throws IOException {
        Path full = dir.resolve("full"), part = dir.resolve("part");
        ContinualRun.Result uninterrupted, resumed;
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = VisionTransformer.load(be, vitFile(), HEADS);
                L2P l2p = new L2P(vit, 4, TRAIN, SEED)) {
            TaskData data = stream();
            uninterrupted = ContinualRun.run(l2p, data, checkpointing(full, l2p, data));
        }
        double[] last = uninterrupted.classIl().row(1);
        double mean = (last[0] + last[1]) / 2; // percent; chance over the 4 seen classes is 25
        assertTrue(mean > 40, "class-IL accuracy (%) over 4 classes after 2 tasks: " + java.util.Arrays.toString(last));
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = VisionTransformer.load(be, vitFile(), HEADS);
                L2P l2p = new L2P(vit, 4, TRAIN, SEED)) {
            TaskData data = stream();
            ContinualRun.run(l2p, data, checkpointing(part, l2p, data), 1);
        }
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = VisionTransformer.load(be, vitFile(), HEADS);
                L2P l2p = new L2P(vit, 4, TRAIN, SEED)) {
            TaskData data = stream();
            resumed = ContinualRun.resume(l2p, data, checkpointing(part, l2p, data));
        }
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(uninterrupted.classIl().row(i), resumed.classIl().row(i), 0.0, "class-IL row " + i);
            assertArrayEquals(uninterrupted.taskIl().row(i), resumed.taskIl().row(i), 0.0, "task-IL row " + i);
        }
        assertEquals(Checkpoints.read(full.resolve("task-002.ckpt")).state(),
                Checkpoints.read(part.resolve("task-002.ckpt")).state());
    }

    @Test
    void stateOfAnotherConfigIsRefused() throws IOException {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = VisionTransformer.load(be, vitFile(), HEADS);
                L2P a = new L2P(vit, 4, TRAIN, SEED); L2P b = new L2P(vit, 4, TRAIN.toBuilder()
                        .set(L2PConfig::topN, 3).build(), SEED)) {
            assertThrows(io.starprompt.method.CheckpointException.class, () -> b.restoreState(a.saveState()));
            assertThrows(IllegalArgumentException.class, () -> L2PConfig.builder().set(L2PConfig::poolSize, 2)
                    .set(L2PConfig::topN, 3).build());
        }
    }
}
