cmake_minimum_required(VERSION 3.25)
# Runs doxygen over DOXYFILE and fails on any warning (an undocumented public
# declaration, a malformed comment), printing them. DOXYGEN is the program,
# or a NOTFOUND value when configuring did not find it.
if(NOT DOXYGEN)
  message(FATAL_ERROR "doxygen not installed: run scripts/test.sh")
endif()
execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# QUIET = YES: anything printed is a warning (or an error).
if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
  message(NOTICE "${out}${err}")
  message(FATAL_ERROR "doxygen reported the problems above in the public headers (exit ${rc})")
endif()
