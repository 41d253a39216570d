pat_add_tool(bench_eval_memory ${CMAKE_CURRENT_LIST_DIR}/bench_eval_memory.cpp)
pat_add_cli_test(bench_eval_memory.small $<TARGET_FILE:bench_eval_memory> --classes 7 --height 50 --width 60 --class-chunk 3)
