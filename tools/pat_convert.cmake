pat_add_tool(pat_convert ${CMAKE_CURRENT_LIST_DIR}/pat_convert.cpp)
pat_add_cli_test(pat_convert.help $<TARGET_FILE:pat_convert> --help)
pat_add_cli_test(pat_convert.catseg_tiny $<TARGET_FILE:pat_convert> catseg
                 tests/data/convert/tiny_detectron2.pth -o ${CMAKE_BINARY_DIR}/cli_convert_tiny.safetensors --strict)
pat_add_cli_test(pat_convert.legacy_format $<TARGET_FILE:pat_convert> catseg
                 tests/data/convert/tiny_legacy.pth -o ${CMAKE_BINARY_DIR}/cli_convert_legacy.safetensors)
if(PAT_BUILD_TESTS)
  set_tests_properties(cli.pat_convert.legacy_format PROPERTIES WILL_FAIL TRUE)
endif()
pat_add_cli_test(pat_convert.clip $<TARGET_FILE:pat_convert> clip tests/data/clip/tiny_clip.pt --head-dim 16
                 -o ${CMAKE_BINARY_DIR}/cli_convert_tiny_clip.safetensors)
# The converted weights run with nothing but --weights (their config is written beside them).
pat_add_cli_test(pat_convert.infer_converted $<TARGET_FILE:pat_infer> tests/data/clip/gradient.png --classes "cat,sofa"
                 --weights ${CMAKE_BINARY_DIR}/cli_convert_tiny.safetensors -o ${CMAKE_BINARY_DIR}/cli_convert_infer)
if(PAT_BUILD_TESTS)
  set_tests_properties(cli.pat_convert.catseg_tiny PROPERTIES FIXTURES_SETUP converted_tiny)
  set_tests_properties(cli.pat_convert.infer_converted PROPERTIES FIXTURES_REQUIRED converted_tiny
                       PASS_REGULAR_EXPRESSION "1 of 1 images segmented")
endif()
