# Distributed training (c10d over Gloo): the environment contract, collectives and data parallelism on
# ranks run as threads, and end-to-end runs of pat_train as several processes.
set(PAT_DIST_TESTS
  ${CMAKE_CURRENT_LIST_DIR}/test_dist_env.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_communicator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_data_parallel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_launcher.cpp)
if(PAT_BUILD_TOOLS)
  list(APPEND PAT_DIST_TESTS ${CMAKE_CURRENT_LIST_DIR}/test_distributed_training.cpp)
endif()
pat_add_unit_test(dist ${PAT_DIST_TESTS})
if(PAT_BUILD_TOOLS)
  target_compile_definitions(pat_test_dist PRIVATE PAT_BIN_DIR="${PROJECT_BINARY_DIR}/bin")
  add_dependencies(pat_test_dist pat_train)
endif()
