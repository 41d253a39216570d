# ccache when present: the torch headers make every translation unit expensive on 2 cores.
if(PAT_USE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(PAT_CCACHE ccache)
  if(PAT_CCACHE)
    # Precompiled headers need these sloppiness settings to be cacheable.
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}" ${PAT_CCACHE})
    message(STATUS "PAT: using ccache (${PAT_CCACHE})")
  endif()
endif()
