pat_add_tool(pat_prepare ${CMAKE_CURRENT_LIST_DIR}/pat_prepare.cpp)
pat_add_cli_test(pat_prepare.help $<TARGET_FILE:pat_prepare> --help)
pat_add_cli_test(pat_prepare.synthetic $<TARGET_FILE:pat_prepare> synthetic --num-images 2 --size 32 -q
                 --data-root ${CMAKE_BINARY_DIR}/cli_prepare)
pat_add_cli_test(pat_prepare.missing_source $<TARGET_FILE:pat_prepare> voc --source /nonexistent/raw -q
                 --data-root ${CMAKE_BINARY_DIR}/cli_prepare)
if(PAT_BUILD_TESTS)
  set_tests_properties(cli.pat_prepare.missing_source PROPERTIES WILL_FAIL TRUE)
endif()
