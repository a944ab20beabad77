package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The one grammar of backend and kernel-variant specs, and its messages for every kind of bad spec. */
class BackendSpecTest {
    private static KernelRegistry registry() {
        return new KernelRegistry("cpu", Map.of("gemm", List.of("openblas", "naive"), "attention",
                List.of("tiled", "naive"), "residual", List.of("fused", "naive")));
    }

    @Test
    void bareBackendHasNoChoices() {
        assertEquals(new BackendSpec("cpu", List.of()), BackendSpec.parse("cpu"));
        assertEquals(new BackendSpec("cuda", List.of()), BackendSpec.parse("  CUDA "));
    }

    @Test
    void choicesAreKeptInOrder() {
        BackendSpec s = BackendSpec.parse("cpu:naive, attention=tiled");
        assertEquals("cpu", s.backend());
        assertEquals(List.of(new BackendSpec.Choice(null, "naive"), new BackendSpec.Choice("attention", "tiled")),
                s.choices());
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', quoteCharacter = '"', value = {"cpu", "cpu:naive", "cuda:attention=naive,residual=naive", "reference:x,y=z"})
    void printedFormParsesBack(String spec) {
        assertEquals(spec, BackendSpec.parse(spec).toString());
        assertEquals(BackendSpec.parse(spec), BackendSpec.parse(BackendSpec.parse(spec).toString()));
    }

    /** The variant each op of {@link #registry()} has selected after the spec is applied. */
    private static Map<String, String> selectedAfter(String spec) {
        KernelRegistry r = registry();
        BackendSpec.parse(spec).applyTo(r);
        Map<String, String> selected = new TreeMap<>();
        r.variants().keySet().forEach(op -> selected.put(op, r.selected(op)));
        return selected;
    }

    @Test
    void bareVariantSwitchesEveryOpOfferingIt() {
        assertEquals(Map.of("gemm", "naive", "attention", "naive", "residual", "naive"), selectedAfter("cpu:naive"));
    }

    @Test
    void laterChoiceWinsAndOthersKeepTheirDefault() {
        assertEquals(Map.of("gemm", "naive", "attention", "tiled", "residual", "naive"),
                selectedAfter("cpu:naive,attention=tiled"));
        assertEquals(Map.of("gemm", "openblas", "attention", "tiled", "residual", "naive"),
                selectedAfter("cpu:residual=naive"));
    }

    @Test
    void backendsCreateAppliesTheChoices() {
        try (Backend be = Backends.create("cpu:attention=naive")) {
            assertEquals("cpu", be.name());
            assertEquals("naive", be.kernels().selected("attention"));
            assertEquals(be.kernels().variants().get("gemm").get(0), be.kernels().selected("gemm"));
        }
    }

    @Test
    void kernelPropertiesGoThroughTheSameChoiceRules() {
        Properties p = new Properties();
        p.setProperty(KernelRegistry.PROPERTY_PREFIX + "attention", " naive ");
        assertEquals("naive", registry().applyProperties(p).selected("attention"));
        Properties blank = new Properties();
        blank.setProperty(KernelRegistry.PROPERTY_PREFIX + "attention", "  ");
        assertMessage(() -> registry().applyProperties(blank), "empty variant name");
    }

    /** Malformed text: the message says what is wrong, and for an unknown backend lists the backends. */
    @ParameterizedTest
    @CsvSource(delimiter = ';', quoteCharacter = '"', value = {
        "\"\";empty backend spec",
        "\"   \";empty backend spec",
        "tpu;unknown backend 'tpu'",
        "TPU;choose one of [reference, cpu, cuda], optionally followed by :variant or :op=variant",
        "tpu:naive;unknown backend 'tpu:naive'",
        "cpu-naive;unknown backend 'cpu-naive'",
        "cpu:;backend spec 'cpu:': empty variant name",
        "cpu:naive,;backend spec 'cpu:naive,': empty variant name",
        "cpu:,naive;empty variant name",
        "cpu:=naive;empty op name",
        "cpu:attention=;empty variant name",
        "cpu:a=b=c;more than one '='",
        "cpu:naive:tiled;variant name 'naive:tiled' contains ':'",
        "cpu:attention=na ive;variant name 'na ive' contains ' '",
    })
    void malformedSpecsSayWhy(String spec, String expected) {
        assertMessage(() -> BackendSpec.parse(spec), expected);
    }

    @Test
    void nullSpecIsRejected() {
        assertMessage(() -> BackendSpec.parse(null), "empty backend spec");
        assertMessage(() -> BackendSpec.Choice.parse(null), "kernel choice is null");
        assertMessage(() -> new BackendSpec("cpu", null), "null");
        assertMessage(() -> new BackendSpec("gpu", List.of()), "unknown backend 'gpu'");
    }

    /** Well-formed text naming what the backend lacks: the message lists what it has. */
    @Test
    void unknownOpsAndVariantsListTheChoices() {
        assertMessage(() -> BackendSpec.parse("cpu:fast").applyTo(registry()),
                "no op of the cpu backend has a kernel variant 'fast'; its variants: [");
        assertMessage(() -> BackendSpec.parse("cpu:softmax=naive").applyTo(registry()), "has no op 'softmax'");
        assertMessage(() -> BackendSpec.parse("cpu:attention=flash").applyTo(registry()),
                "kernel variant 'flash' of op 'attention' does not exist on the cpu backend; choose one of [tiled, naive]");
        assertMessage(() -> Backends.create("reference:naive"), "no op of the reference backend has a kernel variant 'naive'");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String expected) {
        String msg = assertThrows(IllegalArgumentException.class, call).getMessage();
        assertTrue(msg.contains(expected), () -> "message '" + msg + "' lacks '" + expected + "'");
    }
}
