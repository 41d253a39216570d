pat_add_tool(pat_eval ${CMAKE_CURRENT_LIST_DIR}/pat_eval.cpp)
pat_add_cli_test(pat_eval.help $<TARGET_FILE:pat_eval> --help)
