# Installable package: find_package(pat) then target_link_libraries(app PRIVATE pat::pat).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS pat EXPORT patTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pat DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT patTargets NAMESPACE pat:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pat)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/patConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/patConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pat)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/patConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/patConfig.cmake ${PROJECT_BINARY_DIR}/patConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pat)
