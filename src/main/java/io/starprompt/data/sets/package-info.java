/**
 * Image datasets on disk: class folders, CIFAR-100 binary, CUB-200 and IDX files, read
 * defensively ({@link io.starprompt.data.sets.Datasets}); whole-dataset checks that report every
 * problem at once ({@link io.starprompt.data.sets.DatasetCheck}); and
 * {@link io.starprompt.data.sets.ImageTaskData}, a dataset as a class-incremental benchmark.
 */
package io.starprompt.data.sets;
