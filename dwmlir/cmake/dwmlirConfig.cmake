# dwmlir's CMake package. Use:
#
#   find_package(dwmlir 0.1 REQUIRED)        # -Ddwmlir_DIR=$(dwmlir --cmake-dir)
#   dwmlir_add_kernels(mykernels CONFIG kernels.toml)
#   target_link_libraries(app PRIVATE mykernels)
#
# dwmlir_add_kernels(<target> CONFIG <file> [OUTPUT_DIR <dir>] [DWMLIR_TARGET <name>] [CPU <name>]
#                    [JOBS <n>])
#   Runs `dwmlir compile --config <file>` at build time (again whenever the config or the
#   dwmlir command changes) into <dir> (default: <current binary dir>/dwmlir/<target>), and makes <target> an
#   IMPORTED static library: libLIB.a, with <dir> (which holds LIB.h and LIB.pc) as its include
#   directory. DWMLIR_TARGET and CPU override the config's target and cpu (--target, --cpu);
#   JOBS is -j (default: dwmlir's, one per CPU). The config is checked when CMake configures,
#   so a typo fails there with dwmlir's one-line message.
#
# Cache variable: DWMLIR_EXECUTABLE, the dwmlir command (found next to this package: the
# bin/ of the prefix pip installed it into, or a dwmlir checkout's .venv/bin; then PATH).
# It must belong to this package: `DWMLIR_EXECUTABLE --cmake-dir` is checked.
# Variables set: dwmlir_FOUND, dwmlir_VERSION, DWMLIR_TOOLCHAIN_FILE (the aarch64 toolchain file
# in this directory; give it to -DCMAKE_TOOLCHAIN_FILE= when you configure).

include_guard(GLOBAL)
cmake_minimum_required(VERSION 3.20)

set(DWMLIR_TOOLCHAIN_FILE "${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake")

find_program(DWMLIR_EXECUTABLE dwmlir
  # pip install:    <prefix>/lib/pythonX.Y/site-packages/dwmlir/cmake -> <prefix>/bin
  # pip install -e: <checkout>/dwmlir/cmake -> <checkout>/.venv/bin (tools/setup.sh's venv)
  HINTS "${CMAKE_CURRENT_LIST_DIR}/../../../../../bin" "${CMAKE_CURRENT_LIST_DIR}/../../.venv/bin"
  NO_CMAKE_FIND_ROOT_PATH
  DOC "The dwmlir command of the Python package that holds this CMake package")

if(NOT DWMLIR_EXECUTABLE)
  set(dwmlir_FOUND FALSE)
  set(dwmlir_NOT_FOUND_MESSAGE
      "no dwmlir command next to ${CMAKE_CURRENT_LIST_DIR} or on PATH: set -DDWMLIR_EXECUTABLE=/path/to/bin/dwmlir")
  return()
endif()

execute_process(COMMAND "${DWMLIR_EXECUTABLE}" --cmake-dir
  RESULT_VARIABLE _dwmlir_rc OUTPUT_VARIABLE _dwmlir_dir ERROR_VARIABLE _dwmlir_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
file(REAL_PATH "${CMAKE_CURRENT_LIST_DIR}" _dwmlir_here)
if(NOT _dwmlir_rc EQUAL 0)
  set(dwmlir_FOUND FALSE)
  string(STRIP "${_dwmlir_err}" _dwmlir_err)
  string(REGEX REPLACE "^.*\n" "" _dwmlir_err "${_dwmlir_err}")  # the last line says why
  set(dwmlir_NOT_FOUND_MESSAGE
      "${DWMLIR_EXECUTABLE} --cmake-dir failed (${_dwmlir_err}): set -DDWMLIR_EXECUTABLE to a working dwmlir")
  return()
endif()
file(REAL_PATH "${_dwmlir_dir}" _dwmlir_dir)
if(NOT _dwmlir_dir STREQUAL _dwmlir_here)
  set(dwmlir_FOUND FALSE)
  set(dwmlir_NOT_FOUND_MESSAGE
      "${DWMLIR_EXECUTABLE} belongs to another install (its CMake package is ${_dwmlir_dir}, not ${_dwmlir_here}): set -DDWMLIR_EXECUTABLE to this install's dwmlir, or -Ddwmlir_DIR=$(${DWMLIR_EXECUTABLE} --cmake-dir)")
  return()
endif()
unset(_dwmlir_rc)
unset(_dwmlir_dir)
unset(_dwmlir_err)
unset(_dwmlir_here)
if(NOT dwmlir_FIND_QUIETLY)
  message(STATUS "Found dwmlir ${dwmlir_VERSION}: ${DWMLIR_EXECUTABLE}")
endif()

function(dwmlir_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "CONFIG;OUTPUT_DIR;DWMLIR_TARGET;CPU;JOBS" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): unknown argument '${arg_UNPARSED_ARGUMENTS}': use CONFIG, OUTPUT_DIR, DWMLIR_TARGET, CPU, JOBS")
  endif()
  if(NOT arg_CONFIG)
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): missing CONFIG <file>: the TOML or JSON batch config (see dwmlir compile --help)")
  endif()
  if(TARGET "${target}")
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): a target named ${target} already exists: choose another name")
  endif()
  get_filename_component(config "${arg_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${config}")
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): config ${config} does not exist: give CONFIG a path relative to ${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  if(arg_OUTPUT_DIR)
    get_filename_component(out "${arg_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  else()
    set(out "${CMAKE_CURRENT_BINARY_DIR}/dwmlir/${target}")
  endif()

  set(cmd "${DWMLIR_EXECUTABLE}" compile --config "${config}" -o "${out}" --emit lib,header,pkgconfig)
  if(arg_DWMLIR_TARGET)
    list(APPEND cmd --target "${arg_DWMLIR_TARGET}")
  endif()
  if(arg_CPU)
    list(APPEND cmd --cpu "${arg_CPU}")
  endif()

  # The output names follow the config's [library] name: ask dwmlir (which also checks the
  # whole config now, not halfway through the build), and configure again when it changes.
  execute_process(COMMAND ${cmd} --print-outputs
    RESULT_VARIABLE rc OUTPUT_VARIABLE outputs ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(STRIP "${err}" err)
    # The indented second line keeps CMake from re-wrapping dwmlir's one-line message.
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): the config does not check out:\n  ${err}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${config}")
  string(STRIP "${outputs}" outputs)
  string(REPLACE "\n" ";" outputs "${outputs}")
  list(FILTER outputs INCLUDE REGEX "\\.(a|h|pc)$")
  set(archive "${outputs}")
  list(FILTER archive INCLUDE REGEX "\\.a$")
  list(LENGTH outputs n)
  list(LENGTH archive n_archive)
  if(NOT n EQUAL 3 OR NOT n_archive EQUAL 1)
    message(FATAL_ERROR "dwmlir_add_kernels(${target}): unexpected output list from dwmlir --print-outputs: ${outputs}")
  endif()

  if(arg_JOBS)
    list(APPEND cmd -j "${arg_JOBS}")
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${cmd}
    DEPENDS "${config}" "${DWMLIR_EXECUTABLE}"
    COMMENT "dwmlir: compiling the kernels of ${arg_CONFIG}"
    VERBATIM)
  add_custom_target("${target}_dwmlir" DEPENDS ${outputs})

  # An imported target must name an existing include directory when CMake generates.
  file(MAKE_DIRECTORY "${out}")
  add_library("${target}" STATIC IMPORTED GLOBAL)
  set_target_properties("${target}" PROPERTIES
    IMPORTED_LOCATION "${archive}"
    INTERFACE_INCLUDE_DIRECTORIES "${out}")
  add_dependencies("${target}" "${target}_dwmlir")
endfunction()
