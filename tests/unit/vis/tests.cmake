pat_add_unit_test(vis
  ${CMAKE_CURRENT_LIST_DIR}/test_labels_vis.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_plot.cpp
)
