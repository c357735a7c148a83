# cmake --install: headers, the library, a CMake package and a pkg-config file.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nethttp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS nethttp EXPORT nethttpTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS nethttp_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/nethttp)
install(EXPORT nethttpTargets NAMESPACE nethttp:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nethttpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nethttpConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nethttpConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nethttpConfig.cmake ${PROJECT_BINARY_DIR}/nethttpConfigVersion.cmake
  DESTINATION ${config_dir})

# Relocatable: paths relative to where the .pc file ends up.
file(RELATIVE_PATH pc_to_prefix ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/nethttp.pc.in ${PROJECT_BINARY_DIR}/nethttp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nethttp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
