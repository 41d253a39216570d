pat_add_tool(pat_tokenize ${CMAKE_CURRENT_LIST_DIR}/pat_tokenize.cpp)
pat_add_cli_test(pat_tokenize.help $<TARGET_FILE:pat_tokenize> --help)
