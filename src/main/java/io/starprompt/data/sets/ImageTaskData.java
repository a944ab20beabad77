package io.starprompt.data.sets;

import io.starprompt.cl.ClassOrder;
import io.starprompt.cl.TaskSplit;
import io.starprompt.data.BatchAssembler;
import io.starprompt.data.CenterCrop;
import io.starprompt.data.HorizontalFlip;
import io.starprompt.data.ImagePipeline;
import io.starprompt.data.ImageTransform;
import io.starprompt.data.ImagePreprocessing;
import io.starprompt.data.ImageSource;
import io.starprompt.data.Normalize;
import io.starprompt.data.RandomResizedCrop;
import io.starprompt.data.Resize;
import io.starprompt.cl.TaskData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A class-incremental benchmark over any {@link Dataset} (image folders, CIFAR-100, CUB-200, IDX
 * files...). A {@link ClassOrder} maps original labels to new labels (identity by default) and its
 * split cuts them into tasks; without one the C classes are cut into T equal tasks
 * ({@link TaskSplit#equal}). Every class needs at least one train and one test image.
 *
 * <p>Transforms (ALGORITHM.md §2.1, §2.2, §7.1), the first two replaceable per benchmark
 * ({@link Builder#trainTransform}, {@link Builder#testTransform}):
 * <ul>
 *   <li>train (ViT), by default: RandomResizedCrop(size, scale 0.08–1, bicubic) → random
 *       horizontal flip → dataset normalisation;</li>
 *   <li>test (ViT), by default: Resize(round(size·256/224), shorter side, bicubic) →
 *       CenterCrop(size) → dataset normalisation;</li>
 *   <li>stage-2 CLIP query: the ViT tensor above re-normalised to CLIP statistics
 *       ({@link ImagePreprocessing#renormalizeForClip(float[], int, Normalize)});</li>
 *   <li>{@link #clipBatches}: {@code clip_preprocess} at the CLIP size (Resize shorter side,
 *       bicubic → CenterCrop → CLIP normalisation), no augmentation.</li>
 * </ul>
 * Training order and augmentation are deterministic in (data seed, shuffle seed, task) whatever
 * the thread count. Images are decoded lazily, batch by batch, on a {@link BatchAssembler} pool,
 * so memory holds one batch of decoded images whatever the dataset size; an unreadable image fails
 * its batch with an {@link IllegalArgumentException} naming the file ({@link DatasetCheck} finds
 * them all beforehand, {@link Builder#exclude} leaves them out). Close the object to stop the
 * decoding threads.
 */
public final class ImageTaskData implements TaskData, AutoCloseable {
    private final Dataset dataset;
    private final int imageSize;
    private final int clipSize;
    private final Normalize norm;
    private final long seed;
    private final ClassOrder order;
    private final List<String> classKeys;
    private final List<String> classNames;
    /** Per new label: the train / test samples, in the dataset's order. */
    private final List<List<Sample>> trainByClass;
    private final List<List<Sample>> testByClass;
    private final BatchAssembler trainAssembler;
    private final BatchAssembler testAssembler;
    private final BatchAssembler clipAssembler;

    private ImageTaskData(Builder b) {
        if (b.imageSize < 1) throw new IllegalArgumentException("image data: image size must be positive, got " + b.imageSize);
        if (b.threads < 1) throw new IllegalArgumentException("image data: thread count must be positive, got " + b.threads);
        this.imageSize = b.imageSize;
        this.clipSize = b.clipSize > 0 ? b.clipSize : b.imageSize;
        this.norm = Objects.requireNonNull(b.normalize, "image data: normalisation");
        this.seed = b.seed;
        this.dataset = b.dataset.excluding(b.excluded);
        requireEveryClass(dataset, b.excluded.size());
        this.order = resolveOrder(b, dataset);
        this.classKeys = List.copyOf(order.permuteNames(dataset.classKeys()));
        this.classNames = List.copyOf(order.permuteNames(dataset.classNames()));
        this.trainByClass = byNewLabel(dataset.train());
        this.testByClass = byNewLabel(dataset.test());
        if (b.verify) verify();
        List<ImageTransform> train = b.trainTransform != null ? b.trainTransform
                : List.of(RandomResizedCrop.of(imageSize), HorizontalFlip.random());
        List<ImageTransform> test = b.testTransform != null ? b.testTransform
                : List.of(Resize.shorterSide(testResize(imageSize)), CenterCrop.of(imageSize));
        this.trainAssembler = new BatchAssembler(new ImagePipeline(train, norm), imageSize, imageSize, b.threads);
        this.testAssembler = new BatchAssembler(new ImagePipeline(test, norm), imageSize, imageSize, b.threads);
        this.clipAssembler = new BatchAssembler(ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(clipSize),
                CenterCrop.of(clipSize)), clipSize, clipSize, b.threads);
    }

    /**
     * The test resize side: 256 for 224, scaled proportionally for other sizes.
     *
     * @param size the ViT input side
     * @return the side to resize to before the centre crop
     */
    public static int testResize(int size) {
        return (int) Math.round(size * 256.0 / 224.0);
    }

    /** Refuses a dataset with a class that cannot be trained or tested, naming where its images should be. */
    private static void requireEveryClass(Dataset d, int excluded) {
        List<Problem> problems = d.coverageProblems();
        if (problems.isEmpty()) return;
        String more = problems.size() > 1 ? " (and " + (problems.size() - 1) + " more classes without images)" : "";
        String after = excluded > 0 ? " (after excluding " + excluded + " image files)" : "";
        throw new IllegalArgumentException(problems.get(0) + after + more);
    }

    private static ClassOrder resolveOrder(Builder b, Dataset d) {
        int c = d.classes();
        if (b.order != null) {
            if (b.order.classes() != c) {
                throw new IllegalArgumentException("image data: the class order has " + b.order.classes() + " classes but "
                        + d.location() + " holds " + c);
            }
            if (b.tasks > 0 && b.order.split().tasks() != b.tasks) {
                throw new IllegalArgumentException("image data: the class order has " + b.order.split().tasks()
                        + " tasks, asked for " + b.tasks);
            }
            return b.order;
        }
        int t = b.tasks > 0 ? b.tasks : 1;
        if (c % t != 0 || c < t) {
            throw new IllegalArgumentException("image data: " + c + " classes cannot be cut into " + t + " equal tasks");
        }
        return ClassOrder.identity(TaskSplit.equal(c, t));
    }

    /** Groups samples by new label, keeping the dataset's order within a class. */
    private List<List<Sample>> byNewLabel(List<Sample> samples) {
        List<List<Sample>> out = new ArrayList<>(order.classes());
        for (int n = 0; n < order.classes(); n++) out.add(new ArrayList<>());
        for (Sample s : samples) out.get(order.newLabel(s.label())).add(s);
        return out.stream().map(List::copyOf).toList();
    }

    /** Decodes every image once; throws naming the first unreadable file. */
    private void verify() {
        for (List<List<Sample>> split : List.of(trainByClass, testByClass)) {
            for (List<Sample> samples : split) {
                for (Sample s : samples) s.source().load();
            }
        }
    }

    /**
     * Settings over a dataset.
     *
     * @param dataset the dataset
     * @return a new builder
     */
    public static Builder builder(Dataset dataset) {
        return new Builder(dataset);
    }

    /**
     * Settings; defaults: 1 task, identity order, 224 px (CLIP input too), ImageNet normalisation,
     * seed 0, 4 threads, nothing excluded.
     */
    public static final class Builder {
        private final Dataset dataset;
        private int tasks;
        private ClassOrder order;
        private int imageSize = 224;
        private int clipSize;
        private Normalize normalize = Normalize.IMAGENET;
        private long seed;
        private int threads = 4;
        private boolean verify;
        private List<Path> excluded = List.of();
        private List<ImageTransform> trainTransform;
        private List<ImageTransform> testTransform;

        private Builder(Dataset dataset) {
            this.dataset = Objects.requireNonNull(dataset, "image data: dataset");
        }

        /**
         * T equal tasks (ignored when a class order with the same task count is given).
         *
         * @param t the number of tasks
         * @return this builder
         */
        public Builder tasks(int t) {
            tasks = t;
            return this;
        }

        /**
         * The class permutation and task split ({@code order[orig] = new}; orig = the dataset's label).
         *
         * @param o the class order
         * @return this builder
         */
        public Builder classOrder(ClassOrder o) {
            order = o;
            return this;
        }

        /**
         * ViT input side (the CLIP input side too, unless {@link #clipImageSize} is set).
         *
         * @param s the side
         * @return this builder
         */
        public Builder imageSize(int s) {
            imageSize = s;
            return this;
        }

        /**
         * Side of the un-augmented {@code clip_preprocess} images of {@link #clipBatches}.
         *
         * @param s the side
         * @return this builder
         */
        public Builder clipImageSize(int s) {
            clipSize = s;
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
         * The data seed: with the shuffle seed and the task it fixes training order and augmentation.
         *
         * @param s the seed
         * @return this builder
         */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /**
         * Decoding threads per transform.
         *
         * @param n the number of threads
         * @return this builder
         */
        public Builder threads(int n) {
            threads = n;
            return this;
        }

        /**
         * The training augmentation of the ViT input, before normalisation; it must produce
         * image-size squares (a batch of another size fails naming the image).
         *
         * @param steps the transforms, in order
         * @return this builder
         */
        public Builder trainTransform(List<ImageTransform> steps) {
            trainTransform = List.copyOf(steps);
            return this;
        }

        /**
         * The test transform of the ViT input, before normalisation; it must produce image-size squares.
         *
         * @param steps the transforms, in order
         * @return this builder
         */
        public Builder testTransform(List<ImageTransform> steps) {
            testTransform = List.copyOf(steps);
            return this;
        }

        /**
         * Decode every image at build time (fail early, naming the file).
         *
         * @param v whether to decode everything first
         * @return this builder
         */
        public Builder verifyImages(boolean v) {
            verify = v;
            return this;
        }

        /**
         * Leaves out the samples stored in these files (e.g. {@link DatasetCheck.Report#badImages()});
         * a class left without train or test images is still an error.
         *
         * @param files the files to leave out
         * @return this builder
         */
        public Builder exclude(Collection<Path> files) {
            excluded = List.copyOf(files);
            return this;
        }

        /**
         * Checks the settings and the dataset and starts the decoding threads.
         *
         * @return the task data; close it to stop its threads
         * @throws IllegalArgumentException for bad settings, a class order that does not fit, or a
         *     class without train or test images (naming where they were expected)
         */
        public ImageTaskData build() {
            return new ImageTaskData(this);
        }
    }

    // ------------------------------------------------------------------ TaskData

    @Override
    public int classes() {
        return order.classes();
    }

    @Override
    public int tasks() {
        return order.split().tasks();
    }

    @Override
    public int[] classesOfTask(int t) {
        return order.split().classesOfTask(t);
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    /**
     * The dataset's class identifiers (folder names, raw label names) in new-label order.
     *
     * @return the identifiers
     */
    public List<String> classKeys() {
        return classKeys;
    }

    /**
     * The dataset the batches come from (after exclusions).
     *
     * @return the dataset
     */
    public Dataset dataset() {
        return dataset;
    }

    /**
     * The class permutation and task split.
     *
     * @return the class order
     */
    public ClassOrder classOrder() {
        return order;
    }

    /**
     * ViT input side.
     *
     * @return the side
     */
    public int imageSize() {
        return imageSize;
    }

    /**
     * Side of the {@code clip_preprocess} images.
     *
     * @return the side
     */
    public int clipImageSize() {
        return clipSize;
    }

    /**
     * The dataset normalisation of the ViT input.
     *
     * @return the normalisation
     */
    public Normalize normalize() {
        return norm;
    }

    /**
     * Images of new label c in a split.
     *
     * @param label a new label
     * @param split train or test
     * @return the number of its images in the split
     */
    public int count(int label, Split split) {
        return (split == Split.TRAIN ? trainByClass : testByClass).get(label).size();
    }

    @Override
    public Iterable<Batch> trainBatches(int task, int batchSize, long shuffleSeed) {
        checkBatch(batchSize);
        List<Labelled> samples = new ArrayList<>(samples(task, Split.TRAIN));
        SplittableRandom rnd = new SplittableRandom(Shuffle.mix(seed, shuffleSeed, task));
        Shuffle.shuffle(samples, rnd);
        long augSeed = rnd.nextLong();
        return batches(samples, batchSize, (chunk, index) -> {
            float[] vit = trainAssembler.assemble(sources(chunk), Shuffle.mix(augSeed, index, 0x5eedL));
            return new Batch(vit, toClip(vit), labels(chunk));
        });
    }

    @Override
    public Iterable<Batch> testBatches(int task, int batchSize) {
        checkBatch(batchSize);
        return batches(samples(task, Split.TEST), batchSize, (chunk, index) -> {
            float[] vit = testAssembler.assemble(sources(chunk), 0);
            return new Batch(vit, toClip(vit), labels(chunk));
        });
    }

    @Override
    public Iterable<Batch> clipBatches(int task, Split split, int batchSize) {
        checkBatch(batchSize);
        return batches(samples(task, split), batchSize,
                (chunk, index) -> new Batch(null, clipAssembler.assemble(sources(chunk), 0), labels(chunk)));
    }

    /** Stops the decoding threads. */
    @Override
    public void close() {
        trainAssembler.close();
        testAssembler.close();
        clipAssembler.close();
    }

    // ------------------------------------------------------------------ internals

    /** A sample with its new label. */
    private record Labelled(Sample sample, int label) {}

    private float[] toClip(float[] vit) {
        return ImagePreprocessing.renormalizeForClip(vit, imageSize * imageSize, norm);
    }

    private static void checkBatch(int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("image data: batch size must be positive, got " + batchSize);
    }

    /** A task's samples in new-label order, the dataset's order within a class. */
    private List<Labelled> samples(int task, Split split) {
        List<List<Sample>> byClass = split == Split.TRAIN ? trainByClass : testByClass;
        List<Labelled> out = new ArrayList<>();
        for (int c : classesOfTask(task)) {
            for (Sample s : byClass.get(c)) out.add(new Labelled(s, c));
        }
        return out;
    }

    private static List<ImageSource> sources(List<Labelled> chunk) {
        return chunk.stream().map(l -> l.sample().source()).toList();
    }

    private static int[] labels(List<Labelled> chunk) {
        return chunk.stream().mapToInt(Labelled::label).toArray();
    }

    private interface BatchMaker {
        Batch make(List<Labelled> chunk, int batchIndex);
    }

    /** Batches made on demand: nothing is decoded before the iterator reaches it. */
    private static Iterable<Batch> batches(List<Labelled> samples, int batchSize, BatchMaker maker) {
        return () -> new Iterator<>() {
            private int next;
            private int index;

            @Override
            public boolean hasNext() {
                return next < samples.size();
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int end = Math.min(samples.size(), next + batchSize);
                Batch b = maker.make(samples.subList(next, end), index++);
                next = end;
                return b;
            }
        };
    }

    @Override
    public String toString() {
        return "ImageTaskData[" + dataset.format() + " " + dataset.location() + ", " + classes() + " classes, " + tasks()
                + " tasks, " + imageSize + " px ViT, " + clipSize + " px CLIP, seed " + seed + "]";
    }
}
