package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.dualprompt.DualPromptConfig;
import io.starprompt.method.l2p.L2PConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
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
        L2PConfig l2p = L2PConfig.builder().set(L2PConfig::epochs, o.epochs()).set(L2PConfig::batchSize, o.batch())
                .set(L2PConfig::evalBatchSize, Demo.evalBatch(o)).build();
        DualPromptConfig dualPrompt = dualPromptFor(vit, o);
        CodaPromptConfig codaPrompt = codaPromptFor(vit, o);
        Methods.Context context = new Methods.Context(be, vit, clip, Demo.promptIds(o.classes(), false),
                Demo.promptIds(o.classes(), true), Demo.starPromptConfig(o), l2p, dualPrompt, codaPrompt, o.seed());
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
     * DualPrompt at the demo's epochs and batches, its G-prompt (layers 0–1) and E-prompt (2–4) layout
     * kept where the ViT is deep enough and shrunk to a G layer and E layers after it where it is not.
     */
    private static DualPromptConfig dualPromptFor(VisionTransformer vit, Demo.Options o) {
        DualPromptConfig d = DualPromptConfig.defaults();
        int depth = vit.config().depth();
        int g = d.gLayers() + d.eLayers() <= depth ? d.gLayers() : 1;
        return d.toBuilder().set(DualPromptConfig::epochs, o.epochs()).set(DualPromptConfig::batchSize, o.batch())
                .set(DualPromptConfig::evalBatchSize, Demo.evalBatch(o)).set(DualPromptConfig::gLayers, g)
                .set(DualPromptConfig::eLayers, Math.min(d.eLayers(), depth - g)).build();
    }

    /**
     * CODA-Prompt at the demo's batches, with no more prompted layers and components than the ViT has
     * room for, and the epochs in the proportion of the reference schedules: 20 where the other
     * prompt methods train 5 (its small, cosine-decayed learning rate needs them).
     */
    private static CodaPromptConfig codaPromptFor(VisionTransformer vit, Demo.Options o) {
        CodaPromptConfig d = CodaPromptConfig.defaults();
        int epochs = o.epochs() * d.epochs() / DualPromptConfig.defaults().epochs();
        return d.toBuilder().set(CodaPromptConfig::epochs, epochs).set(CodaPromptConfig::batchSize, o.batch())
                .set(CodaPromptConfig::evalBatchSize, Demo.evalBatch(o))
                .set(CodaPromptConfig::promptedLayers, Math.min(d.promptedLayers(), vit.config().depth()))
                .set(CodaPromptConfig::components, Math.min(d.components(), vit.config().width())).build();
    }
}
