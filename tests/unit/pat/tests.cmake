pat_add_unit_test(pat
  ${CMAKE_CURRENT_LIST_DIR}/test_quantizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_pyramid.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_pat_golden.cpp
)
