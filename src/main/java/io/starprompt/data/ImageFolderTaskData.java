package io.starprompt.data;

import io.starprompt.cl.ClassOrder;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A class-incremental benchmark read from an image-folder tree:
 * <pre>
 *   root/train/&lt;class&gt;/*.{jpg,jpeg,png}
 *   root/test/&lt;class&gt;/*.{jpg,jpeg,png}
 * </pre>
 * The original labels are the sorted class folder names (by {@link String#compareTo}); class names
 * are the folder names with '_' replaced by ' '. A {@link ClassOrder} maps original labels to new
 * labels (identity by default) and its split cuts them into tasks; without one the C classes are
 * cut into T equal tasks ({@link TaskSplit#equal}).
 *
 * <p>Transforms (spec §2.1, §2.2, §7.1, the RandomResizedCrop benchmarks):
 * <ul>
 *   <li>train (ViT): RandomResizedCrop(size, scale 0.08–1, bicubic) → random horizontal flip →
 *       dataset normalisation;</li>
 *   <li>test (ViT): Resize(round(size·256/224), shorter side, bicubic) → CenterCrop(size) →
 *       dataset normalisation;</li>
 *   <li>stage-2 CLIP query: the ViT tensor above re-normalised to CLIP statistics
 *       ({@link ImagePreprocessing#renormalizeForClip(float[], int, Normalize)});</li>
 *   <li>{@link #clipBatches}: {@code clip_preprocess} at the CLIP size (Resize shorter side,
 *       bicubic → CenterCrop → CLIP normalisation), no augmentation.</li>
 * </ul>
 * Training order and augmentation are deterministic in (data seed, shuffle seed, task) whatever
 * the thread count. Images are decoded lazily, batch by batch, on a {@link BatchAssembler} pool;
 * an unreadable image fails the batch with an {@link IllegalArgumentException} naming the file
 * ({@link Builder#verifyImages(boolean)} decodes every image once at build time instead).
 * Close the object to stop the decoding threads.
 */
public final class ImageFolderTaskData implements TaskData, AutoCloseable {
    /** File extensions read (lower case). */
    public static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png");

    private record Sample(Path file, int label) {}

    private final Path root;
    private final int imageSize;
    private final int clipSize;
    private final Normalize norm;
    private final long seed;
    private final ClassOrder order;
    private final List<String> folderNames;
    private final List<String> classNames;
    /** Per new label: train / test files, sorted by name. */
    private final List<List<Path>> trainFiles;
    private final List<List<Path>> testFiles;
    private final BatchAssembler trainAssembler;
    private final BatchAssembler testAssembler;
    private final BatchAssembler clipAssembler;

    private ImageFolderTaskData(Builder b) {
        this.root = Objects.requireNonNull(b.root, "image folder: root");
        if (b.imageSize < 1) throw new IllegalArgumentException("image folder: image size must be positive, got " + b.imageSize);
        this.imageSize = b.imageSize;
        this.clipSize = b.clipSize > 0 ? b.clipSize : b.imageSize;
        this.norm = Objects.requireNonNull(b.normalize, "image folder: normalisation");
        this.seed = b.seed;
        if (b.threads < 1) throw new IllegalArgumentException("image folder: thread count must be positive, got " + b.threads);
        Path train = root.resolve("train"), test = root.resolve("test");
        if (!Files.isDirectory(root)) throw new IllegalArgumentException("image folder: " + root + " is not a directory");
        if (!Files.isDirectory(train)) throw new IllegalArgumentException("image folder: missing train folder " + train);
        if (!Files.isDirectory(test)) throw new IllegalArgumentException("image folder: missing test folder " + test);
        List<String> folders = subfolders(train);
        if (folders.isEmpty()) throw new IllegalArgumentException("image folder: no class folders in " + train);
        for (String f : subfolders(test)) {
            if (!folders.contains(f)) {
                throw new IllegalArgumentException("image folder: class folder " + test.resolve(f) + " has no counterpart in "
                        + train);
            }
        }
        int c = folders.size();
        if (b.order != null) {
            if (b.order.classes() != c) {
                throw new IllegalArgumentException("image folder: the class order has " + b.order.classes() + " classes but "
                        + train + " holds " + c);
            }
            if (b.tasks > 0 && b.order.split().tasks() != b.tasks) {
                throw new IllegalArgumentException("image folder: the class order has " + b.order.split().tasks()
                        + " tasks, asked for " + b.tasks);
            }
            this.order = b.order;
        } else {
            int t = b.tasks > 0 ? b.tasks : 1;
            if (c % t != 0 || c < t) {
                throw new IllegalArgumentException("image folder: " + c + " classes cannot be cut into " + t + " equal tasks");
            }
            this.order = ClassOrder.identity(TaskSplit.equal(c, t));
        }
        List<List<Path>> trainOrig = new ArrayList<>(), testOrig = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String f : folders) {
            Path testDir = test.resolve(f);
            if (!Files.isDirectory(testDir)) {
                throw new IllegalArgumentException("image folder: class '" + f + "' has no test folder " + testDir);
            }
            trainOrig.add(images(train.resolve(f)));
            testOrig.add(images(testDir));
            names.add(f.replace('_', ' '));
        }
        this.folderNames = List.copyOf(order.permuteNames(folders));
        this.classNames = List.copyOf(order.permuteNames(names));
        this.trainFiles = permute(trainOrig);
        this.testFiles = permute(testOrig);
        if (b.verify) verify();
        this.trainAssembler = new BatchAssembler(ImagePipeline.of(norm, RandomResizedCrop.of(imageSize),
                HorizontalFlip.random()), imageSize, imageSize, b.threads);
        this.testAssembler = new BatchAssembler(ImagePipeline.of(norm, Resize.shorterSide(testResize(imageSize)),
                CenterCrop.of(imageSize)), imageSize, imageSize, b.threads);
        this.clipAssembler = new BatchAssembler(ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(clipSize),
                CenterCrop.of(clipSize)), clipSize, clipSize, b.threads);
    }

    /** The test resize side: 256 for 224, scaled proportionally for other sizes. */
    static int testResize(int size) {
        return (int) Math.round(size * 256.0 / 224.0);
    }

    private List<List<Path>> permute(List<List<Path>> byOriginal) {
        List<List<Path>> out = new ArrayList<>(byOriginal.size());
        for (int n = 0; n < byOriginal.size(); n++) out.add(byOriginal.get(order.originalLabel(n)));
        return List.copyOf(out);
    }

    private static List<String> subfolders(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("image folder: cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static List<Path> images(Path dir) {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return EXTENSIONS.stream().anyMatch(n::endsWith);
            }).sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("image folder: cannot list " + dir + ": " + e.getMessage(), e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("image folder: class folder " + dir + " holds no .jpg/.jpeg/.png images");
        }
        return files;
    }

    /** Decodes every image once; throws naming the first unreadable file. */
    private void verify() {
        for (List<List<Path>> split : List.of(trainFiles, testFiles)) {
            for (List<Path> files : split) {
                for (Path f : files) Images.decode(f);
            }
        }
    }

    public static Builder builder(Path root) {
        return new Builder(root);
    }

    /** Settings; defaults: 1 task, identity order, 224 px (CLIP input too), ImageNet normalisation, seed 0, 4 threads. */
    public static final class Builder {
        private final Path root;
        private int tasks;
        private ClassOrder order;
        private int imageSize = 224;
        private int clipSize;
        private Normalize normalize = Normalize.IMAGENET;
        private long seed;
        private int threads = 4;
        private boolean verify;

        private Builder(Path root) {
            this.root = root;
        }

        /** T equal tasks (ignored when a class order with the same task count is given). */
        public Builder tasks(int t) {
            tasks = t;
            return this;
        }

        /** The class permutation and task split ({@code order[orig] = new}; orig = sorted folder index). */
        public Builder classOrder(ClassOrder o) {
            order = o;
            return this;
        }

        /** ViT input side (the CLIP input side too, unless {@link #clipImageSize} is set). */
        public Builder imageSize(int s) {
            imageSize = s;
            return this;
        }

        /** Side of the un-augmented {@code clip_preprocess} images of {@link #clipBatches}. */
        public Builder clipImageSize(int s) {
            clipSize = s;
            return this;
        }

        /** The dataset normalisation of the ViT input. */
        public Builder normalize(Normalize n) {
            normalize = n;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /** Decoding threads per transform. */
        public Builder threads(int n) {
            threads = n;
            return this;
        }

        /** Decode every image at build time (fail early, naming the file). */
        public Builder verifyImages(boolean v) {
            verify = v;
            return this;
        }

        public ImageFolderTaskData build() {
            return new ImageFolderTaskData(this);
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

    /** Class folder names in new-label order. */
    public List<String> folderNames() {
        return folderNames;
    }

    public ClassOrder classOrder() {
        return order;
    }

    public int imageSize() {
        return imageSize;
    }

    public int clipImageSize() {
        return clipSize;
    }

    public Normalize normalize() {
        return norm;
    }

    /** Images of new label c in a split. */
    public int count(int label, Split split) {
        return (split == Split.TRAIN ? trainFiles : testFiles).get(label).size();
    }

    @Override
    public Iterable<Batch> trainBatches(int task, int batchSize, long shuffleSeed) {
        checkBatch(batchSize);
        List<Sample> samples = new ArrayList<>(samples(task, Split.TRAIN));
        SplittableRandom rnd = new SplittableRandom(mix(seed, shuffleSeed, task));
        for (int i = samples.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            Sample s = samples.get(i);
            samples.set(i, samples.get(j));
            samples.set(j, s);
        }
        long augSeed = rnd.nextLong();
        return batches(samples, batchSize, (chunk, index) -> {
            float[] vit = trainAssembler.assemble(sources(chunk), mix(augSeed, index, 0x5eedL));
            return new Batch(vit, toClip(vit), labels(chunk));
        });
    }

    @Override
    public Iterable<Batch> testBatches(int task, int batchSize) {
        checkBatch(batchSize);
        List<Sample> samples = samples(task, Split.TEST);
        return batches(samples, batchSize, (chunk, index) -> {
            float[] vit = testAssembler.assemble(sources(chunk), 0);
            return new Batch(vit, toClip(vit), labels(chunk));
        });
    }

    @Override
    public Iterable<Batch> clipBatches(int task, Split split, int batchSize) {
        checkBatch(batchSize);
        List<Sample> samples = samples(task, split);
        return batches(samples, batchSize,
                (chunk, index) -> new Batch(null, clipAssembler.assemble(sources(chunk), 0), labels(chunk)));
    }

    @Override
    public void close() {
        trainAssembler.close();
        testAssembler.close();
        clipAssembler.close();
    }

    // ------------------------------------------------------------------ internals

    private float[] toClip(float[] vit) {
        return ImagePreprocessing.renormalizeForClip(vit, imageSize * imageSize, norm);
    }

    private static void checkBatch(int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("image folder: batch size must be positive, got " + batchSize);
    }

    /** A task's samples in label order, files sorted by name within a class. */
    private List<Sample> samples(int task, Split split) {
        List<List<Path>> files = split == Split.TRAIN ? trainFiles : testFiles;
        List<Sample> out = new ArrayList<>();
        for (int c : classesOfTask(task)) {
            for (Path f : files.get(c)) out.add(new Sample(f, c));
        }
        return out;
    }

    private static List<ImageSource> sources(List<Sample> chunk) {
        return chunk.stream().map(s -> ImageSource.file(s.file())).toList();
    }

    private static int[] labels(List<Sample> chunk) {
        return chunk.stream().mapToInt(Sample::label).toArray();
    }

    private interface BatchMaker {
        Batch make(List<Sample> chunk, int batchIndex);
    }

    private static Iterable<Batch> batches(List<Sample> samples, int batchSize, BatchMaker maker) {
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

    private static long mix(long a, long b, long c) {
        long h = a * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(b * 0xC2B2AE3D27D4EB4FL, 21)
                ^ Long.rotateLeft(c * 0x165667B19E3779F9L, 42);
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }

    @Override
    public String toString() {
        return "ImageFolderTaskData[" + root + ", " + classes() + " classes, " + tasks() + " tasks, " + imageSize
                + " px ViT, " + clipSize + " px CLIP, seed " + seed + "]";
    }
}
