pat_add_unit_test(model
  ${CMAKE_CURRENT_LIST_DIR}/test_seg_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_standalone_tokenizer.cpp
)
