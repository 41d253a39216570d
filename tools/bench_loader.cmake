pat_add_tool(bench_loader ${CMAKE_CURRENT_LIST_DIR}/bench_loader.cpp)
pat_add_cli_test(bench_loader.help $<TARGET_FILE:bench_loader> --help)
