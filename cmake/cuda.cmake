# cmake/cuda.cmake: the GPU half of the build, included from the top-level
# CMakeLists.txt when CB_WITH_CUDA is on.
#
# CUDA is enabled only when nvcc is found (check_language), so a machine
# without the toolkit configures and builds the rest. CMAKE_CUDA_ARCHITECTURES
# is the list of GPU architectures to compile for: set it on the command
# line (-DCMAKE_CUDA_ARCHITECTURES="80;90"); by default it is the local
# GPU's ("native") when nvidia-smi sees one, else 80 (sm_80: one
# architecture keeps CI's build short; the PTX in it JIT-compiles for
# newer GPUs).
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "nvcc not found: GPU backends (cuda, cublas, cufft, cudnn) left out")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(_cb_arch 80)
  find_program(CB_NVIDIA_SMI nvidia-smi)
  if(CB_NVIDIA_SMI)
    execute_process(COMMAND ${CB_NVIDIA_SMI} -L RESULT_VARIABLE _rc OUTPUT_VARIABLE _gpus
                    ERROR_QUIET)
    if(_rc EQUAL 0 AND _gpus MATCHES "GPU [0-9]")
      set(_cb_arch native)
    endif()
  endif()
  set(CMAKE_CUDA_ARCHITECTURES ${_cb_arch} CACHE STRING "GPU architectures to build for")
endif()
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
set(CB_HAVE_CUDA_LANG ON)
# Executables link with the C compiler, as without CUDA (the kernels need no
# device link step): sanitizer and other C link flags keep working.
set(CMAKE_CUDA_LINKER_PREFERENCE_PROPAGATES OFF)
message(STATUS "CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures: ${CMAKE_CUDA_ARCHITECTURES}")

# Device and host code warning-free: nvcc's own warnings, and the host
# compiler's on the host half of every .cu file.
set(CB_CUDA_WARNINGS -Xcompiler=-Wall,-Wextra,-Wshadow)
if(CB_WERROR)
  list(APPEND CB_CUDA_WARNINGS -Werror=all-warnings -Xcompiler=-Werror)
endif()
target_compile_options(cb_kernels PRIVATE "$<$<COMPILE_LANGUAGE:CUDA>:${CB_CUDA_WARNINGS}>")
# cb_kernels was made before CUDA was enabled, so it gets the architectures
# here. The shared CUDA runtime: libcudart.so, so the driver is looked for at
# run time and a machine without it gets an error message, not a crash.
set_target_properties(cb_kernels PROPERTIES CUDA_RUNTIME_LIBRARY Shared
                      CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")

cb_add_backend(cuda CB_HAVE_CUDA CUDA::cudart)
cb_add_backend(cublas CB_HAVE_CUBLAS CUDA::cublas)
cb_add_backend(cufft CB_HAVE_CUFFT CUDA::cufft)
cb_add_found_backend(cudnn CB_HAVE_CUDNN cudnn.h cudnn "cuDNN (cudnn.h, libcudnn)"
                     ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib)
