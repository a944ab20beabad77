package io.starprompt.data;

import io.starprompt.cl.TaskData;
import io.starprompt.data.Normalize;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * A procedural class-incremental benchmark for tests and demos: class c is a distinctive image
 * family (its own base colour on a hue circle, stripe frequency and stripe orientation), every
 * sample adds a random stripe phase, brightness jitter and pixel noise. Images are rendered from
 * continuous coordinates, so any ViT and CLIP input size works. Training augmentation: random
 * horizontal flip, a random extra phase shift and extra noise. Deterministic in its seed.
 *
 * <p>ViT inputs use the given dataset normalisation (ImageNet by default); CLIP inputs are the
 * same pixels normalised with CLIP's constants (what §2.1's renormalisation of the ViT input
 * yields, up to float rounding); {@link #clipBatches} renders the un-augmented image at the
 * CLIP size.
 */
public final class SyntheticTaskData implements TaskData {
    private final int classes;
    private final int tasks;
    private final int trainPerClass;
    private final int testPerClass;
    private final int vitSize;
    private final int clipSize;
    private final double noise;
    private final long seed;
    private final Normalize datasetNorm;

    private SyntheticTaskData(Builder b) {
        this.classes = b.classes;
        this.tasks = b.tasks;
        this.trainPerClass = b.trainPerClass;
        this.testPerClass = b.testPerClass;
        this.vitSize = b.vitSize;
        this.clipSize = b.clipSize;
        this.noise = b.noise;
        this.seed = b.seed;
        this.datasetNorm = b.normalize;
        if (classes < 1 || tasks < 1 || classes % tasks != 0) {
            throw new IllegalArgumentException("synthetic data: " + classes + " classes cannot be cut into " + tasks
                    + " equal tasks");
        }
        if (trainPerClass < 1 || testPerClass < 1 || vitSize < 1 || clipSize < 1 || !(noise >= 0)) {
            throw new IllegalArgumentException("synthetic data: bad sizes");
        }
    }

    /**
     * A builder with the defaults below.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings; defaults: 4 classes, 2 tasks, 24 train and 12 test images per class, 32 px, noise 0.05. */
    public static final class Builder {
        private int classes = 4, tasks = 2, trainPerClass = 24, testPerClass = 12, vitSize = 32, clipSize = 32;
        private double noise = 0.05;
        private long seed = 0;
        private Normalize normalize = Normalize.IMAGENET;

        /**
         * C, all classes.
         *
         * @param c C
         * @return this builder
         */
        public Builder classes(int c) {
            classes = c;
            return this;
        }

        /**
         * T, tasks of equal size.
         *
         * @param t T
         * @return this builder
         */
        public Builder tasks(int t) {
            tasks = t;
            return this;
        }

        /**
         * Training images per class.
         *
         * @param n the images
         * @return this builder
         */
        public Builder trainPerClass(int n) {
            trainPerClass = n;
            return this;
        }

        /**
         * Test images per class.
         *
         * @param n the images
         * @return this builder
         */
        public Builder testPerClass(int n) {
            testPerClass = n;
            return this;
        }

        /**
         * ViT and CLIP input side.
         *
         * @param s the side
         * @return this builder
         */
        public Builder imageSize(int s) {
            vitSize = s;
            clipSize = s;
            return this;
        }

        /**
         * The ViT input size.
         *
         * @param s the side
         * @return this builder
         */
        public Builder vitImageSize(int s) {
            vitSize = s;
            return this;
        }

        /**
         * The CLIP input size.
         *
         * @param s the side
         * @return this builder
         */
        public Builder clipImageSize(int s) {
            clipSize = s;
            return this;
        }

        /**
         * Standard deviation of the pixel noise.
         *
         * @param sigma the standard deviation
         * @return this builder
         */
        public Builder noise(double sigma) {
            noise = sigma;
            return this;
        }

        /**
         * The seed every image derives from.
         *
         * @param s the seed
         * @return this builder
         */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /**
         * The dataset normalisation of the ViT input.
         *
         * @param n the normalisation
         * @return this builder
         */
        public Builder normalize(Normalize n) {
            normalize = n;
            return this;
        }

        /**
         * The benchmark; checks that the classes split into equal tasks.
         *
         * @return the benchmark
         */
        public SyntheticTaskData build() {
            return new SyntheticTaskData(this);
        }
    }

    // ------------------------------------------------------------------ TaskData

    @Override
    public int classes() {
        return classes;
    }

    @Override
    public int tasks() {
        return tasks;
    }

    @Override
    public int[] classesOfTask(int t) {
        if (t < 0 || t >= tasks) throw new IllegalArgumentException("synthetic data: task " + t + " outside [0, " + tasks + ")");
        int per = classes / tasks;
        int[] out = new int[per];
        for (int i = 0; i < per; i++) out[i] = t * per + i;
        return out;
    }

    @Override
    public List<String> classNames() {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < classes; c++) names.add("pattern " + c);
        return names;
    }

    /**
     * The ViT input size.
     *
     * @return the side
     */
    public int vitImageSize() {
        return vitSize;
    }

    /**
     * The CLIP input size S.
     *
     * @return S
     */
    public int clipImageSize() {
        return clipSize;
    }

    @Override
    public Iterable<Batch> trainBatches(int task, int batchSize, long shuffleSeed) {
        int[][] samples = samples(task, trainPerClass);
        shuffle(samples, new SplittableRandom(mix(seed, 0x7a11L, shuffleSeed)));
        return batches(samples, batchSize, i -> {
            int[] s = samples[i];
            SplittableRandom aug = new SplittableRandom(mix(seed, shuffleSeed, (long) s[0] << 32 | s[1]));
            return render(s[0], s[1], Split.TRAIN, aug, true, true);
        });
    }

    @Override
    public Iterable<Batch> testBatches(int task, int batchSize) {
        int[][] samples = samples(task, testPerClass);
        return batches(samples, batchSize, i -> render(samples[i][0], samples[i][1], Split.TEST, null, true, true));
    }

    @Override
    public Iterable<Batch> clipBatches(int task, Split split, int batchSize) {
        int[][] samples = samples(task, split == Split.TRAIN ? trainPerClass : testPerClass);
        return batches(samples, batchSize, i -> render(samples[i][0], samples[i][1], split, null, false, true));
    }

    // ------------------------------------------------------------------ rendering

    /** (class, index) pairs of one task in class order. */
    private int[][] samples(int task, int perClass) {
        int[] cls = classesOfTask(task);
        int[][] out = new int[cls.length * perClass][];
        int k = 0;
        for (int c : cls) {
            for (int i = 0; i < perClass; i++) out[k++] = new int[] {c, i};
        }
        return out;
    }

    private static void shuffle(int[][] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int[] t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** One rendered sample: vit (nullable) and clip images, CHW. */
    private record Rendered(int label, float[] vit, float[] clip) {}

    private Iterable<Batch> batches(int[][] samples, int batchSize, IntFunction<Rendered> render) {
        if (batchSize < 1) throw new IllegalArgumentException("synthetic data: batch size " + batchSize);
        return () -> new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < samples.length;
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int n = Math.min(batchSize, samples.length - next);
                int[] labels = new int[n];
                float[] vit = null, clip = null;
                for (int i = 0; i < n; i++) {
                    Rendered r = render.apply(next + i);
                    labels[i] = r.label();
                    if (r.vit() != null) {
                        if (vit == null) vit = new float[n * r.vit().length];
                        System.arraycopy(r.vit(), 0, vit, i * r.vit().length, r.vit().length);
                    }
                    if (clip == null) clip = new float[n * r.clip().length];
                    System.arraycopy(r.clip(), 0, clip, i * r.clip().length, r.clip().length);
                }
                next += n;
                return new Batch(vit, clip, labels);
            }
        };
    }

    private Rendered render(int c, int index, Split split, SplittableRandom aug, boolean withVit, boolean withClip) {
        SplittableRandom own = new SplittableRandom(mix(seed, split.ordinal() + 1, (long) c << 32 | index));
        double phase = own.nextDouble() * 2 * Math.PI;
        double jitter = (own.nextDouble() - 0.5) * 0.1;
        long noiseSeed = own.nextLong();
        boolean flip = false;
        double extraNoise = 0;
        long augNoiseSeed = 0;
        if (aug != null) {
            flip = aug.nextBoolean();
            phase += (aug.nextDouble() - 0.5) * Math.PI;
            extraNoise = noise * 0.5;
            augNoiseSeed = aug.nextLong();
        }
        float[] vit = null, clip = null;
        if (withVit) {
            vit = pattern(c, vitSize, phase, jitter, flip, noiseSeed, extraNoise, augNoiseSeed);
            datasetNorm.normalizeInPlace(vit, vitSize * vitSize);
        }
        if (withClip) {
            clip = pattern(c, clipSize, phase, jitter, flip, noiseSeed, extraNoise, augNoiseSeed);
            Normalize.CLIP.normalizeInPlace(clip, clipSize * clipSize);
        }
        return new Rendered(c, vit, clip);
    }

    /** Raw [0,1]-ish pixels of class c at side s. */
    private float[] pattern(int c, int s, double phase, double jitter, boolean flip, long noiseSeed, double extraNoise,
            long augNoiseSeed) {
        double hue = (double) c / classes;
        double[] rgb = hsv(hue, 0.75, 0.75);
        double freq = 1 + (c * 7 % 5);
        double theta = Math.PI * ((c * 3) % Math.max(classes, 2)) / Math.max(classes, 2);
        double cos = Math.cos(theta), sin = Math.sin(theta);
        SplittableRandom nr = new SplittableRandom(noiseSeed);
        SplittableRandom ar = new SplittableRandom(augNoiseSeed);
        float[] out = new float[3 * s * s];
        for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
                double u = ((flip ? s - 1 - x : x) + 0.5) / s, v = (y + 0.5) / s;
                double stripe = 0.22 * Math.sin(2 * Math.PI * freq * (u * cos + v * sin) + phase);
                for (int ch = 0; ch < 3; ch++) {
                    double val = rgb[ch] + jitter + stripe * (ch == c % 3 ? 1.0 : 0.5) + noise * gaussian(nr);
                    if (extraNoise > 0) val += extraNoise * gaussian(ar);
                    out[ch * s * s + y * s + x] = (float) Math.max(0, Math.min(1, val));
                }
            }
        }
        return out;
    }

    private static double gaussian(SplittableRandom r) {
        // Box–Muller: SplittableRandom has no nextGaussian on Java 17 without RandomGenerator's default.
        double u1 = r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    private static double[] hsv(double h, double s, double v) {
        double hh = (h % 1.0) * 6;
        int i = (int) Math.floor(hh);
        double f = hh - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        switch (i) {
            case 0: return new double[] {v, t, p};
            case 1: return new double[] {q, v, p};
            case 2: return new double[] {p, v, t};
            case 3: return new double[] {p, q, v};
            case 4: return new double[] {t, p, v};
            default: return new double[] {v, p, q};
        }
    }

    private static long mix(long a, long b, long c) {
        long h = a * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(b * 0xC2B2AE3D27D4EB4FL, 21) ^ Long.rotateLeft(c * 0x165667B19E3779F9L, 42);
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }

    @Override
    public String toString() {
        return "SyntheticTaskData[" + classes + " classes, " + tasks + " tasks, " + trainPerClass + "/" + testPerClass
                + " per class, " + vitSize + " px ViT, " + clipSize + " px CLIP, seed " + seed + "]";
    }
}
