pat_add_unit_test(tokenizer
  ${CMAKE_CURRENT_LIST_DIR}/test_tokenizer.cpp
)
# The golden cases also check the cleaned text (src/clip/detail), and the error tests write gzip files.
target_include_directories(pat_test_tokenizer PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(pat_test_tokenizer PRIVATE ZLIB::ZLIB)
