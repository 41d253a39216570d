pat_add_unit_test(eval
  ${CMAKE_CURRENT_LIST_DIR}/test_class_split.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_inference_protocol.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_prediction_scoring.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_token_stats.cpp
)
