pat_add_tool(pat_convert ${CMAKE_CURRENT_LIST_DIR}/pat_convert.cpp)
pat_add_cli_test(pat_convert.help $<TARGET_FILE:pat_convert> --help)
pat_add_cli_test(pat_convert.catseg_tiny $<TARGET_FILE:pat_convert> catseg
                 tests/data/convert/tiny_detectron2.pth -o ${CMAKE_BINARY_DIR}/cli_convert_tiny.safetensors --strict)
pat_add_cli_test(pat_convert.legacy_format $<TARGET_FILE:pat_convert> catseg
                 tests/data/convert/tiny_legacy.pth -o ${CMAKE_BINARY_DIR}/cli_convert_legacy.safetensors)
set_tests_properties(cli.pat_convert.legacy_format PROPERTIES WILL_FAIL TRUE)
pat_add_cli_test(pat_convert.clip $<TARGET_FILE:pat_convert> clip tests/data/clip/tiny_clip.pt --head-dim 16
                 -o ${CMAKE_BINARY_DIR}/cli_convert_tiny_clip.safetensors)
