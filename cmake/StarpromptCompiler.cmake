# CPU compiler flags for the kernels. The library is shipped inside a jar and must run on any
# x86-64 machine, so no -march=native by default; AVX2/FMA paths are picked at run time where
# they matter. STARPROMPT_NATIVE_ARCH=ON builds for the build machine only (local profiling).
option(STARPROMPT_NATIVE_ARCH "Compile CPU kernels with -march=native" OFF)
set(SP_CXX_FLAGS -O3 -fno-math-errno -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter)
if(STARPROMPT_NATIVE_ARCH)
  list(APPEND SP_CXX_FLAGS -march=native)
endif()
# libstdc++ and libgcc linked statically: the jar then needs nothing but glibc.
set(SP_LINK_FLAGS -static-libstdc++ -static-libgcc -Wl,--no-undefined)
