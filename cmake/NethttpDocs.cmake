# The API reference (Doxygen over include/nethttp) and its check, docs.api:
# doxygen must run without a single warning, so every public declaration is
# documented. Included from tests/CMakeLists.txt. Without doxygen the test
# fails rather than passing silently (scripts/test.sh installs it).
find_program(DOXYGEN doxygen)
set(NETHTTP_DOCS_OUTPUT ${PROJECT_BINARY_DIR}/docs/api)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${PROJECT_BINARY_DIR}/docs/Doxyfile @ONLY)

if(DOXYGEN)
  add_custom_target(nethttp_docs
    COMMAND ${DOXYGEN} ${PROJECT_BINARY_DIR}/docs/Doxyfile
    COMMENT "API reference: ${NETHTTP_DOCS_OUTPUT}/html/index.html"
    VERBATIM)
endif()

add_test(NAME docs.api
  COMMAND ${CMAKE_COMMAND} -DDOXYGEN=${DOXYGEN} -DDOXYFILE=${PROJECT_BINARY_DIR}/docs/Doxyfile
          -P ${PROJECT_SOURCE_DIR}/cmake/CheckDocs.cmake)
set_tests_properties(docs.api PROPERTIES LABELS lint)
