pat_add_tool(pat_train ${CMAKE_CURRENT_LIST_DIR}/pat_train.cpp)
pat_add_cli_test(pat_train.help $<TARGET_FILE:pat_train> --help)
pat_add_cli_test(pat_train.version $<TARGET_FILE:pat_train> --version)
pat_add_cli_test(pat_train.print_config $<TARGET_FILE:pat_train> --config configs/demo.yaml --print-config)
