package io.starprompt.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The fuzzer itself: it is deterministic, varies its inputs, and reports every kind of failure. */
class FuzzerTest {
    private static final byte[][] SEEDS = {
        "{\"a\": [1, 2, 3], \"b\": \"text\"}".getBytes(StandardCharsets.UTF_8),
        {0x08, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'a', 'd', 'e', 'r', '!', '!'},
    };

    @Test
    void inputsAreReproducibleFromTheSeedAndCaseNumber() {
        for (int i = 0; i < 200; i++) assertArrayEquals(Fuzzer.input(SEEDS, 5, i), Fuzzer.input(SEEDS, 5, i));
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 1000; i++) distinct.add(new String(Fuzzer.input(SEEDS, 5, i), StandardCharsets.ISO_8859_1));
        assertTrue(distinct.size() > 900, "only " + distinct.size() + " distinct inputs in 1000 cases");
        boolean differsFromSeed6 = false;
        for (int i = 0; i < 20 && !differsFromSeed6; i++) {
            differsFromSeed6 = !java.util.Arrays.equals(Fuzzer.input(SEEDS, 5, i), Fuzzer.input(SEEDS, 6, i));
        }
        assertTrue(differsFromSeed6, "another seed must give other inputs");
    }

    @Test
    void mutationsIncludeTruncationGrowthAndHugeLengthFields() {
        boolean shorter = false, longer = false, hugeLength = false, hugeNumber = false;
        for (int i = 0; i < 3000; i++) {
            byte[] b = Fuzzer.input(i % 2 == 0 ? SEEDS : new byte[][] {SEEDS[1]}, 1, i);
            shorter |= b.length < SEEDS[1].length && b.length > 0 && b[0] == 0x08;
            longer |= b.length > SEEDS[0].length + 8;
            if (b.length >= 8) {
                long prefix = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
                hugeLength |= prefix == 1L << 62 || prefix == -1 || prefix == Long.MAX_VALUE;
            }
            String text = new String(b, StandardCharsets.ISO_8859_1);
            hugeNumber |= text.contains("9223372036854775807") || text.contains("1e400");
        }
        assertTrue(shorter && longer && hugeLength && hugeNumber,
                "shorter " + shorter + ", longer " + longer + ", huge length " + hugeLength + ", huge number " + hugeNumber);
    }

    @Test
    void countsParsedAndDocumentedRejections() {
        Fuzzer.Report r = Fuzzer.target("self-test").seeds(SEEDS).cases(500).seed(3)
                .parse(b -> {
                    if (b.length % 2 == 0) throw new IllegalArgumentException("src: even length " + b.length);
                })
                .source("src").runQuietly();
        assertEquals(500, r.cases());
        assertEquals(500, r.parsed() + r.rejected());
        assertTrue(r.parsed() > 0 && r.rejected() > 0, r.summary());
        assertEquals(Set.of("even length"), r.firstWords().keySet());
        assertTrue(r.failures().isEmpty());
        assertTrue(r.summary().contains("500 cases"), r.summary());
    }

    @Test
    void undocumentedExceptionsFailTheRunWithSeedAndCase() {
        Fuzzer f = Fuzzer.target("self-test npe").seeds(SEEDS).cases(50).seed(3)
                .parse(b -> {
                    if (b.length > 10) throw new NullPointerException("boom");
                });
        Fuzzer.Report r = f.runQuietly();
        assertFalse(r.failures().isEmpty());
        assertTrue(r.failures().get(0).problem().contains("undocumented java.lang.NullPointerException"),
                r.failures().get(0).toString());
        AssertionError e = assertThrows(AssertionError.class, f::run);
        assertTrue(e.getMessage().contains("seed 3") && e.getMessage().contains("case "), e.getMessage());
    }

    @Test
    void errorsAreFindingsNotCrashes() {
        Fuzzer.Report r = Fuzzer.target("self-test oom").seeds(SEEDS).cases(3).seed(1)
                .parse(b -> {
                    throw new OutOfMemoryError("Requested array size exceeds VM limit");
                }).runQuietly();
        assertEquals(3, r.failures().size());
        assertTrue(r.failures().get(0).problem().contains("OutOfMemoryError"), r.failures().get(0).toString());
    }

    @Test
    void messagesMustNameTheSource() {
        Fuzzer.Report r = Fuzzer.target("self-test source").seeds(SEEDS).cases(20).seed(1)
                .parse(b -> {
                    throw new IllegalArgumentException("bad header");
                })
                .source("weights.safetensors").runQuietly();
        assertEquals(20, r.failures().size());
        assertTrue(r.failures().get(0).problem().contains("does not name 'weights.safetensors'"));
    }

    @Test
    void aHangIsReportedAndTheRunGoesOn() {
        CountDownLatch never = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Fuzzer.Report r = Fuzzer.target("self-test hang").seeds(SEEDS).cases(4).seed(1).timeoutMillis(3000)
                .parse(b -> {
                    if (calls.getAndIncrement() == 1) {
                        try {
                            never.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).runQuietly();
        assertEquals(4, calls.get(), "the cases after the hang ran on a fresh worker");
        assertEquals(3, r.parsed());
        assertEquals(1, r.failures().size());
        assertEquals(1, r.failures().get(0).index());
        assertTrue(r.failures().get(0).problem().contains("hang"), r.failures().get(0).toString());
    }

    @Test
    void allocationBeyondTheBudgetIsAFailure() {
        Fuzzer.Report r = Fuzzer.target("self-test allocation").seeds(SEEDS).cases(5).seed(1)
                .allocationBudget(n -> 1024 + n)
                .parse(b -> {
                    byte[] big = new byte[1 << 20];
                    big[b.length % big.length] = 1;
                }).runQuietly();
        assertEquals(5, r.failures().size());
        assertTrue(r.failures().get(0).problem().startsWith("allocated "), r.failures().get(0).toString());
        assertTrue(r.maxAllocated() >= 1 << 20);
    }

    @Test
    void firstWordsGroupMessagesByKind() {
        assertEquals("header length", Fuzzer.firstWords("/tmp/x/f.st: header length 99 exceeds", "/tmp/x/f.st"));
        assertEquals("tensor '…':", Fuzzer.firstWords("f.st: tensor 'blocks.0': shape", "f.st"));
        assertEquals("line #:", Fuzzer.firstWords("/d/merges.txt: line 12: expected two", "merges.txt"));
        assertEquals("line #:", Fuzzer.firstWords("/d/merges-ok.txt: line 3: merge 'a b', not in vocab.json",
                "vocab.json"));
    }
}
