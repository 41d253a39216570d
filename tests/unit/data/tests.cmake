pat_add_unit_test(data
  ${CMAKE_CURRENT_LIST_DIR}/test_image_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_transforms.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_loader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_synthetic.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_captions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_synthetic_crop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_prepare.cpp
)
# The tests write zlib streams by hand (palette PNG fixtures).
find_package(ZLIB REQUIRED)
target_link_libraries(pat_test_data PRIVATE ZLIB::ZLIB)
