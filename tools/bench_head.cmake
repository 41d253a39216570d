pat_add_tool(bench_head ${CMAKE_CURRENT_LIST_DIR}/bench_head.cpp)
pat_add_cli_test(bench_head.help $<TARGET_FILE:bench_head> --help)
