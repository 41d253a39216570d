pat_add_tool(pat_infer ${CMAKE_CURRENT_LIST_DIR}/pat_infer.cpp)
pat_add_cli_test(pat_infer.help $<TARGET_FILE:pat_infer> --help)
