pat_add_unit_test(bench
  ${CMAKE_CURRENT_LIST_DIR}/test_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_cuda_parity.cpp
)
