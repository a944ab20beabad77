/**
 * Gaussian mixtures with diagonal covariances, fitted by k-means initialisation and EM
 * ({@link io.starprompt.method.common.mixture.GaussianMixture}): the class replay models of
 * STAR-Prompt's head re-alignment.
 */
package io.starprompt.method.common.mixture;
