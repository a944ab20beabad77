package io.starprompt.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.ClassOrder;
import io.starprompt.data.ImageTransform;
import io.starprompt.data.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunSettingsTest {
    @Test
    void layersApplyInOrderOfPrecedence(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("run.json");
        Files.writeString(cfg, "{\"stage2.lambda\": 7, \"batch\": 64, \"norm\": \"CLIP\"}");
        RunSettings s = Presets.apply(RunSettings.defaults(), "seq-cifar100").withConfigFile(cfg)
                .withAssignments(List.of("batch=32", "seed = 1996"));
        assertEquals(7f, s.getFloat("stage2.lambda"));              // config file over preset (2)
        assertEquals(32, s.getInt("batch"));                         // command line over config file
        assertEquals("clip", s.getString("norm"));                   // choices are case-insensitive
        assertEquals(1996L, s.getLong("seed"));
        assertEquals(10, s.getInt("tasks"));                         // preset over default
        assertEquals(0.002f, s.getFloat("stage1.lr"));               // default
        assertEquals(RunSettings.Source.PRESET, s.entry("tasks").source());
        assertEquals(RunSettings.Source.CONFIG_FILE, s.entry("stage2.lambda").source());
        List<String> lines = s.describe();
        assertTrue(lines.stream().anyMatch(l -> l.contains("tasks") && l.contains("(preset seq-cifar100)")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.contains("batch") && l.contains("(command line)")), lines.toString());
        assertEquals(RunSettings.keys().size(), s.asMap().size());
    }

    @Test
    void badValuesNameTheSettingAndTheFile(@TempDir Path dir) throws Exception {
        RunSettings d = RunSettings.defaults();
        assertMessage(() -> d.with("stage2.lambd", 1, RunSettings.Source.COMMAND_LINE, ""), "did you mean stage2.lambda");
        assertMessage(() -> d.withAssignments(List.of("batch=0")), "batch must be ≥ 1");
        assertMessage(() -> d.withAssignments(List.of("batch=2.5")), "must be an integer");
        assertMessage(() -> d.withAssignments(List.of("stage1.lr=abc")), "must be a number");
        assertMessage(() -> d.withAssignments(List.of("stage1.lr=NaN")), "finite");
        assertMessage(() -> d.withAssignments(List.of("norm=sepia")), "must be one of");
        assertMessage(() -> d.withAssignments(List.of("batch")), "name=value");
        Path cfg = dir.resolve("bad.json");
        Files.writeString(cfg, "{\"batch\": -1}");
        assertMessage(() -> d.withConfigFile(cfg), "bad.json: setting batch");
        Files.writeString(cfg, "[1, 2]");
        assertMessage(() -> d.withConfigFile(cfg), "expected a JSON object");
        Files.writeString(cfg, "{\"batch\": ");
        assertMessage(() -> d.withConfigFile(cfg), "not valid JSON");
    }

    @Test
    void defaultSettingsGiveTheDefaultStarPromptConfig() {
        assertEquals(io.starprompt.method.starprompt.StarPromptConfig.defaults(), RunData.starPromptConfig(RunSettings.defaults()));
        var cifar = RunData.starPromptConfig(Presets.apply(RunSettings.defaults(), "seq-cifar100"));
        assertEquals(20, cifar.stage1().epochs());
        assertEquals(2f, cifar.stage2().lambdaOrtho());
        assertEquals(10f, cifar.stage1().lambdaOrtho());
    }

    @Test
    void presetsSetThePromptFamilysPerBenchmarkRows() {
        RunSettings cifar = Presets.apply(RunSettings.defaults(), "seq-cifar100");
        assertEquals(5, cifar.getInt("l2p.epochs"));
        assertEquals(0.5f, cifar.getFloat("l2p.pull-weight"));
        assertEquals(true, cifar.getBoolean("l2p.batchwise"));
        assertEquals(5, cifar.getInt("dualprompt.epochs"));
        assertEquals(20, cifar.getInt("coda-prompt.epochs"));
        RunSettings cub = Presets.apply(RunSettings.defaults(), "seq-cub200");
        assertEquals(List.of(50, 50, 50), List.of(cub.getInt("l2p.epochs"), cub.getInt("dualprompt.epochs"),
                cub.getInt("coda-prompt.epochs")));
        assertEquals(0.1f, cub.getFloat("l2p.pull-weight"));
        assertEquals(false, cub.getBoolean("l2p.batchwise"));
    }

    @Test
    void classOrdersFollowTheSettings() {
        RunSettings cifar = Presets.apply(RunSettings.defaults(), "seq-cifar100");
        assertEquals(ClassOrder.builtIn("seq-cifar100-224", 1993).order()[0], RunData.classOrder(cifar, 100).order()[0]);
        assertMessage(() -> RunData.classOrder(cifar, 10), "has 100 classes but the dataset has 10");
        RunSettings plain = RunSettings.defaults().withAssignments(List.of("tasks=2", "seed=5"));
        assertEquals(List.of(), java.util.Arrays.stream(RunData.classOrder(plain, 6).order()).boxed()
                .filter(v -> v < 0 || v >= 6).toList());
        assertEquals(java.util.Arrays.toString(ClassOrder.numpyPermutation(5, 6)),
                java.util.Arrays.toString(RunData.classOrder(plain, 6).order()));
        assertEquals("[0, 1, 2, 3]", java.util.Arrays.toString(
                RunData.classOrder(plain.withAssignments(List.of("class-order=identity")), 4).order()));
        assertMessage(() -> RunData.classOrder(RunSettings.defaults(), 6), "how many tasks");
        assertMessage(() -> RunData.classOrder(plain, 5), "cannot be cut into 2");
    }

    @Test
    void everyPresetNamesABuiltInClassOrderWithItsTaskCount() {
        assertEquals(9, Presets.names().size());
        for (String name : Presets.names()) {
            RunSettings s = Presets.apply(RunSettings.defaults(), name);
            ClassOrder order = ClassOrder.builtIn(s.getString("benchmark"), 1993);
            assertEquals(order.split().tasks(), s.getInt("tasks"), name);
            int size = s.getInt("image-size");
            assertEquals(size, apply(TransformSpec.parse(s.getString("train-transform"), size), 300, 200).width(), name);
            assertEquals(size, apply(TransformSpec.parse(s.getString("test-transform"), size), 300, 200).height(), name);
        }
        assertMessage(() -> Presets.get("seq-mnist"), "seq-cifar100");
    }

    @Test
    void transformSpecsParseAndEndInTheImageSize() {
        RgbImage out = apply(TransformSpec.parse("resize-short:40, center-crop, flip", 32), 80, 50);
        assertEquals(32, out.width());
        assertEquals(32, out.height());
        assertEquals(3, TransformSpec.parse("resize:300,random-crop,flip", 224).size());
        assertEquals(0, TransformSpec.parse("none", 224).size());
        assertEquals(37, ((io.starprompt.data.Resize) TransformSpec.parse("resize-short,center-crop", 32).get(0)).apply(new RgbImage(64, 40, new byte[64 * 40 * 3]), new SplittableRandom(1)).height()); // round(32·256/224)
        assertEquals(32, apply(TransformSpec.parse("resize", 32), 80, 50).height());
        assertMessage(() -> TransformSpec.parse("resize:0,center-crop", 224), "needs a positive size");
        assertMessage(() -> TransformSpec.parse("resize-short:256", 224), "does not end in 224×224");
        assertMessage(() -> TransformSpec.parse("resize:256", 224), "does not end in 224×224");
        assertMessage(() -> TransformSpec.parse("rotate", 224), "unknown step 'rotate'");
        assertMessage(() -> TransformSpec.parse("resize:x,center-crop", 224), "positive size");
        assertMessage(() -> TransformSpec.parse("flip:3", 224), "takes no argument");
    }

    private static RgbImage apply(List<ImageTransform> steps, int w, int h) {
        RgbImage img = new RgbImage(w, h, new byte[w * h * 3]);
        SplittableRandom rng = new SplittableRandom(1);
        for (ImageTransform t : steps) img = t.apply(img, rng);
        return img;
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        String msg = assertThrows(IllegalArgumentException.class, call).getMessage();
        assertTrue(msg.contains(part), msg);
    }
}
