# Compiler settings shared by every target the project builds itself.

if(NETHTTP_SANITIZE)
  add_compile_options(-fsanitize=${NETHTTP_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${NETHTTP_SANITIZE} -fno-sanitize-recover=all)
endif()

# Warnings as errors for our own code only (third-party headers are SYSTEM).
function(nethttp_strict target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough -Wcast-qual -Wformat=2)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # The locking rules written in the types (base/thread_annotations.h).
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
endfunction()

# A layer of the library: one folder of src/, an object library whose
# allowed dependencies are the layers it links (checked by tests/layering).
function(nethttp_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(nethttp_${name} OBJECT ${ARG_SOURCES})
  target_include_directories(nethttp_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
  set_target_properties(nethttp_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  foreach(dep IN LISTS ARG_DEPENDS)
    target_link_libraries(nethttp_${name} PUBLIC nethttp_${dep})
  endforeach()
  nethttp_strict(nethttp_${name})
  if(NETHTTP_BUILD_FUZZ)
    # Coverage for libFuzzer in the library itself, not only in the targets.
    target_compile_options(nethttp_${name} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  set_property(GLOBAL APPEND PROPERTY NETHTTP_LAYERS ${name})
  set_property(GLOBAL PROPERTY NETHTTP_LAYER_DEPS_${name} ${ARG_DEPENDS})
endfunction()
