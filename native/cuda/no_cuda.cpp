// Stand-ins for every sp_cuda_* entry point, compiled instead of the .cu files when the
// library is built without CUDA: the symbols must exist so that the Java binding links on
// every machine; callers probe sp_cuda_compiled()/sp_cuda_device_count() and fall back.
// tests/test_header_exports.cpp fails when starprompt.h declares an entry point that has no
// stub here; a stub whose parameters differ from the header's does not compile (extern "C").
#include "internal.h"

namespace {
int no_cuda(const char* func) {
  return sp_fail(SP_ERR_NO_CUDA, "%s: library built without CUDA", func);
}
}  // namespace

#define SP_NO_CUDA return no_cuda(__func__)
// The naive and the fast variant of an op take the same parameters.
#define SP_ATTENTION_FWD_PARAMS (int, const void*, const void*, const void*, const void*, \
  const void*, const void*, void*, float*, int, int, int, int, int, int, float, int, void*)
#define SP_ATTENTION_BWD_PARAMS (int, const void*, const void*, const void*, const void*, \
  const void*, const void*, const void*, const float*, const void*, void*, void*, void*, void*, \
  void*, void*, int, int, int, int, int, int, float, int, void*)
#define SP_RETRIEVAL_FWD_PARAMS (const float*, const float*, const float*, const float*, int, \
  int, int, int, int, int, int, float*, int32_t*, float*, void*)
#define SP_RETRIEVAL_BWD_PARAMS (const float*, const float*, const float*, const float*, \
  const float*, const int32_t*, const float*, int, int, int, int, int, int, int, int, float*, \
  float*, void*)

// NVTX ranges are a no-op without CUDA (not an error: profiling code calls them on any build).
SP_EXPORT int sp_nvtx_range_push(const char*) { return SP_OK; }
SP_EXPORT int sp_nvtx_range_pop(void) { return SP_OK; }

SP_EXPORT int sp_cuda_compiled(void) { return 0; }
SP_EXPORT int sp_cuda_device_count(void) { return 0; }
SP_EXPORT int sp_cuda_set_device(int) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_malloc(size_t, void** out) {
  if (out) *out = nullptr;
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_free(void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_memcpy_h2d(void*, const void*, size_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_memcpy_d2h(void*, const void*, size_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_memcpy_d2d(void*, const void*, size_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_memset_zero(void*, size_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_stream_create(void** out) {
  if (out) *out = nullptr;
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_stream_destroy(void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_stream_synchronize(void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_convert(const void*, int, void*, int, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_event_create(void** out) {
  if (out) *out = nullptr;
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_event_destroy(void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_event_record(void*, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_event_elapsed_ms(void*, void*, float*) { SP_NO_CUDA; }

SP_EXPORT int sp_cuda_gemm_naive(int, int, int, int, int, float, const float*, int64_t,
                                 const float*, int64_t, float, float*, int64_t, int, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_add_bias(float*, const float*, int64_t, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_axpy(float*, const float*, float, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_layernorm_fwd(const float*, const float*, const float*, float, float*,
                                    float*, float*, int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_layernorm_bwd(const float*, const float*, const float*, const float*,
                                    const float*, float*, float*, float*, int64_t, int64_t,
                                    void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_gelu_fwd(const float*, float*, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_gelu_bwd(const float*, const float*, float*, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_quickgelu_fwd(const float*, float*, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_quickgelu_bwd(const float*, const float*, float*, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_softmax_fwd(const float*, float*, int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_softmax_bwd(const float*, const float*, float*, int64_t, int64_t,
                                  void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_attention_fwd_naive SP_ATTENTION_FWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_attention_fwd_flash SP_ATTENTION_FWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_attention_bwd_naive SP_ATTENTION_BWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_attention_bwd_flash SP_ATTENTION_BWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_embedding_gather(const float*, const int32_t*, float*, int64_t, int64_t,
                                       int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_embedding_scatter_add(const float*, const int32_t*, float*, int64_t,
                                            int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_sum(const float*, float*, int, int, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_patchify(const float*, float*, int, int, int, int, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_unpatchify(const float*, float*, int, int, int, int, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_token_gather(const float*, const int32_t*, float*, int, int, int64_t,
                                   void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_scatter_add(const float*, const int32_t*, float*, int, int,
                                        int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_cross_entropy(const float*, const int32_t*, int, int, int, int, float*,
                                    float*, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_adam_step(float*, const float*, float*, float*, int64_t, float, float,
                                float, float, float, int, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_sgd_step(float*, const float*, int64_t, float, float, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_retrieval_fwd_naive SP_RETRIEVAL_FWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_retrieval_fwd_fused SP_RETRIEVAL_FWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_retrieval_bwd_naive SP_RETRIEVAL_BWD_PARAMS { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_retrieval_bwd_fused SP_RETRIEVAL_BWD_PARAMS { SP_NO_CUDA; }

SP_EXPORT int sp_cuda_component_weighting_fwd(const float*, const float*, const float*,
                                              const float*, int, int, int, int, int, int,
                                              float*, float*, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_component_weighting_bwd(const float*, const float*, const float*,
                                              const float*, const float*, int, int, int, int,
                                              int, int, int, float*, float*, float*, void*) {
  SP_NO_CUDA;
}

// Input prompts (L2P): cosine top-N match.
SP_EXPORT int sp_cuda_cosine_match(const float*, const float*, int, int, int, int, int, float*,
                                   int32_t*, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_cosine_match_bwd(const float*, const float*, const int32_t*, const float*,
                                       int, int, int, int, float*, float*, void*) {
  SP_NO_CUDA;
}

// Input prompts (L2P): concatenation and the mean over a token range.
SP_EXPORT int sp_cuda_prompt_concat(const float*, const float*, const int32_t*, const float*,
                                    float*, int, int, int, int, int, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_prompt_concat_bwd(const float*, const int32_t*, float*, float*, int, int,
                                        int, int, int, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_range_mean(const float*, float*, int, int, int, int, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_range_mean_bwd(const float*, float*, int, int, int, int, int64_t,
                                           void*) {
  SP_NO_CUDA;
}

// f32 / bf16 storage forms.
SP_EXPORT int sp_cuda_add_bias_dt(void*, int, const void*, int, int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_bias_act_fwd_dt(int, void*, int, const void*, int, void*, int, int64_t,
                                      int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_axpy_dt(void*, int, const void*, int, float, int64_t, void*) { SP_NO_CUDA; }
SP_EXPORT int sp_cuda_layernorm_fwd_dt(const void*, int, const void*, int, const void*, int, float,
                                       void*, int, float*, float*, int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_layernorm_bwd_dt(const void*, int, const void*, int, const void*, int,
                                       const float*, const float*, void*, int, float*, float*,
                                       int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_activation_fwd_dt(int, const void*, int, void*, int, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_activation_bwd_dt(int, const void*, int, const void*, int, void*, int,
                                        int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_softmax_fwd_dt(const void*, int, void*, int, int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_softmax_bwd_dt(const void*, int, const void*, int, void*, int, int64_t,
                                     int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_embedding_gather_dt(const void*, int, const int32_t*, void*, int, int64_t,
                                          int64_t, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_sum_dt(const void*, int, void*, int, int, int, int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_gather_dt(const void*, int, const int32_t*, void*, int, int, int,
                                      int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_token_scatter_add_dt(const void*, int, const int32_t*, void*, int, int, int,
                                           int64_t, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_patchify_dt(const void*, int, void*, int, int, int, int, int, void*) {
  SP_NO_CUDA;
}
SP_EXPORT int sp_cuda_unpatchify_dt(const void*, int, void*, int, int, int, int, int, void*) {
  SP_NO_CUDA;
}
