pat_add_unit_test(core
  ${CMAKE_CURRENT_LIST_DIR}/test_precision.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_error.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_tensor_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_runtime.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_cpu_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_resources.cpp
)
