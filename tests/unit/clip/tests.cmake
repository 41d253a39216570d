pat_add_unit_test(clip
  ${CMAKE_CURRENT_LIST_DIR}/test_architecture.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_weights.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_finetune.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_prompts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_preprocess.cpp
)
