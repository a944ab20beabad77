package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.dualprompt.DualPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.run.RunSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code starprompt compare}: several methods, one after the other, on the same stream (the
 * demo's synthetic benchmark with its small random checkpoints), in one table (printed, and in
 * results.json and metrics.csv) and one set of plots (seen_accuracy.png shows every method).
 * By default every method of {@code train --method} and both bounds, joint training and
 * sequential fine-tuning.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run several methods on one class-incremental stream and compare them in one table and one plot"
                + " (seen_accuracy.png): the demo's synthetic benchmark with small random ViT and CLIP checkpoints.",
                "Methods: every method of `train --method` and the bounds joint and finetune (default: all of them),"
                + " each with its reference hyper-parameters at the stream's batch size; --epochs is every method's"
                + " epochs per task except CODA-Prompt's, which trains 4x as many, as its reference schedule does."})
final class Compare implements Callable<Integer> {
    @Mixin
    Main.Common common = new Main.Common();

    @Option(names = "--methods", paramLabel = "LIST", split = ",",
            description = "methods to run, comma separated, in this order (default: ${DEFAULT-VALUE})")
    List<String> methods = Methods.compareDefaults();

    @Mixin
    Demo.Stream stream = new Demo.Stream();

    @Option(names = "--out", paramLabel = "DIR", description = "folder for the reports (default: runs/compare-<date-time>)")
    Path outDir;

    @Spec
    CommandSpec spec;

    private final PrintStream out;

    Compare(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws IOException {
        Demo.Options o = stream.resolve(spec, outDir, "compare");
        List<Methods.Entry> entries = entries();
        try (Backend be = common.openBackend(); Console console = common.console(out)) {
            Demo.withModels(be, o.seed(), console, (vit, clip) -> compare(be, vit, clip, o, entries, console));
        }
        return 0;
    }

    /** The --methods entries, each once, checked before anything runs. */
    private List<Methods.Entry> entries() {
        List<Methods.Entry> out = new ArrayList<>();
        try {
            for (String name : methods) {
                Methods.Entry e = Methods.methodOrBound(name);
                if (out.contains(e)) throw new IllegalArgumentException("--methods names " + e.name() + " twice");
                out.add(e);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        if (out.isEmpty()) throw new ParameterException(spec.commandLine(), "--methods names no method");
        return out;
    }

    private static void compare(Backend be, VisionTransformer vit, Clip clip, Demo.Options o, List<Methods.Entry> entries,
            Console console) throws IOException {
        TaskData data = Demo.data(o, vit, clip);
        RunSettings s = settings(o);
        DualPromptConfig dualPrompt = fitted(Methods.dualPromptConfig(s), vit);
        CodaPromptConfig codaPrompt = fitted(Methods.codaPromptConfig(s), vit);
        Methods.Context context = new Methods.Context(be, vit, clip, Demo.promptIds(o.classes(), false),
                Demo.promptIds(o.classes(), true), Demo.starPromptConfig(o), Methods.l2pConfig(s), dualPrompt, codaPrompt,
                o.seed());
        console.info(data + " on the " + be.name() + " backend");
        Runner runner = new Runner(console);
        List<MethodResult> results = new ArrayList<>();
        Map<String, Object> backbones = new LinkedHashMap<>();
        for (Methods.Entry e : entries) {
            try (ContinualMethod m = e.factory().apply(context)) {
                results.add(runner.run(m, e.displayName(), data, false, null).result());
            }
            backbones.put(e.displayName(), e.backbones() + " of the " + Demo.checkpointWords(o.seed()));
        }
        Map<String, Object> settings = Demo.settings(o, "compare");
        settings.put("methods", entries.stream().map(Methods.Entry::name).toList());
        settings.put("checkpoints", backbones);
        backbones.forEach((method, words) -> console.info(method + " ran on the " + words));
        runner.finish(results, settings, be, o.out());
    }

    /**
     * The family's run settings at the stream's epochs and batches: every method's reference
     * hyper-parameters otherwise, and CODA-Prompt's epochs in the proportion of the reference
     * schedules, 20 where the other prompt methods train 5 (its small, cosine-decayed learning rate
     * needs them).
     */
    private static RunSettings settings(Demo.Options o) {
        int coda = o.epochs() * CodaPromptConfig.defaults().epochs() / DualPromptConfig.defaults().epochs();
        return RunSettings.defaults().withAssignments(List.of("batch=" + o.batch(), "eval-batch=" + Demo.evalBatch(o),
                "l2p.epochs=" + o.epochs(), "dualprompt.epochs=" + o.epochs(), "coda-prompt.epochs=" + coda));
    }

    /**
     * DualPrompt's G-prompt (layers 0–1) and E-prompt (2–4) layout, kept where the ViT is deep
     * enough and shrunk to a G layer and E layers after it where it is not.
     */
    private static DualPromptConfig fitted(DualPromptConfig c, VisionTransformer vit) {
        int depth = vit.config().depth();
        int g = c.gLayers() + c.eLayers() <= depth ? c.gLayers() : 1;
        return c.toBuilder().set(DualPromptConfig::gLayers, g)
                .set(DualPromptConfig::eLayers, Math.min(c.eLayers(), depth - g)).build();
    }

    /** CODA-Prompt with no more prompted layers and components than the ViT has room for. */
    private static CodaPromptConfig fitted(CodaPromptConfig c, VisionTransformer vit) {
        return c.toBuilder().set(CodaPromptConfig::promptedLayers, Math.min(c.promptedLayers(), vit.config().depth()))
                .set(CodaPromptConfig::components, Math.min(c.components(), vit.config().width())).build();
    }
}
