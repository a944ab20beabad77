# CUDA detection. STARPROMPT_CUDA=OFF forces a CPU-only build; otherwise CUDA kernels are
# built when CMake finds a CUDA compiler (nvcc on PATH or CUDACXX).
option(STARPROMPT_CUDA "Build the CUDA kernels when a CUDA compiler is available" ON)
set(STARPROMPT_WITH_CUDA OFF)
if(STARPROMPT_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # sm_80 (A100) and sm_90 (H100/H200) machine code, plus compute_90 PTX for newer cards.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90-real 90-virtual)
    endif()
    set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
    enable_language(CUDA)
    set(STARPROMPT_WITH_CUDA ON)
  endif()
endif()
message(STATUS "starprompt: CUDA kernels ${STARPROMPT_WITH_CUDA}")

function(starprompt_configure_cuda target)
  set_target_properties(${target} PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_compile_definitions(${target} PRIVATE SP_WITH_CUDA=1)
  target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CUDA>:-O3 --use_fast_math -Xcompiler=-fvisibility=hidden>)
  find_package(CUDAToolkit REQUIRED)
  # NVTX3 (the ranges of sp_nvtx_range_push) is header-only and finds a profiler with dlopen.
  target_link_libraries(${target} PRIVATE CUDA::cudart_static ${CMAKE_DL_LIBS})
endfunction()
