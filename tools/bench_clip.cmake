pat_add_tool(bench_clip ${CMAKE_CURRENT_LIST_DIR}/bench_clip.cpp)
