pat_add_unit_test(convert
  ${CMAKE_CURRENT_LIST_DIR}/test_torch_save.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_catseg_convert.cpp
)

# Full-size conversions (ViT-B/16 with the logits parity check, ViT-L/14@336 shapes): checkpoints of random
# weights in the official layout are generated into the build tree (~0.6 and 1.7 GB, removed afterwards) by
# Debian's python3-torch. Label "convert"; about a minute of CPU each.
# Debian's interpreter first (python3-torch), then whatever python3 CMake finds.
find_package(Python3 COMPONENTS Interpreter QUIET)
set(PAT_TORCH_PYTHON "")
foreach(candidate /usr/bin/python3 ${Python3_EXECUTABLE})
  if(NOT PAT_TORCH_PYTHON AND EXISTS "${candidate}")
    execute_process(COMMAND ${candidate} -c "import torch, numpy" RESULT_VARIABLE PAT_PYTHON_TORCH_RC
                    OUTPUT_QUIET ERROR_QUIET)
    if(PAT_PYTHON_TORCH_RC EQUAL 0)
      set(PAT_TORCH_PYTHON ${candidate})
    endif()
  endif()
endforeach()
if(PAT_TORCH_PYTHON)
  set(PAT_CONVERT_FULL_DIR ${CMAKE_BINARY_DIR}/convert_full)
  add_executable(pat_test_convert_full ${CMAKE_CURRENT_LIST_DIR}/test_catseg_full.cpp)
  target_link_libraries(pat_test_convert_full PRIVATE pat_test_support GTest::gtest_main)
  target_compile_definitions(pat_test_convert_full PRIVATE PAT_CONVERT_FULL_DIR="${PAT_CONVERT_FULL_DIR}")
  if(PAT_USE_PCH)
    target_precompile_headers(pat_test_convert_full REUSE_FROM pat_test_support)
  endif()
  foreach(model vitb16 vitl14_336)
    add_test(NAME convert.full.generate_${model}
             COMMAND ${PAT_TORCH_PYTHON} ${PROJECT_SOURCE_DIR}/tools/gen_catseg_checkpoints.py --full ${model}
                     ${PAT_CONVERT_FULL_DIR})
    add_test(NAME convert.full.remove_${model}
             COMMAND ${CMAKE_COMMAND} -E rm -f ${PAT_CONVERT_FULL_DIR}/catseg_${model}.pth
                     ${PAT_CONVERT_FULL_DIR}/catseg_${model}.safetensors
                     ${PAT_CONVERT_FULL_DIR}/catseg_${model}_reference.safetensors)
    set_tests_properties(convert.full.generate_${model} PROPERTIES FIXTURES_SETUP convert_${model} LABELS convert RESOURCE_LOCK convert_full
                         TIMEOUT 600)
    set_tests_properties(convert.full.remove_${model} PROPERTIES FIXTURES_CLEANUP convert_${model} LABELS convert)
  endforeach()
  add_test(NAME convert.full.vitb16 COMMAND pat_test_convert_full --gtest_filter=CatSegFull.VitB16*)
  set_tests_properties(convert.full.vitb16 PROPERTIES FIXTURES_REQUIRED convert_vitb16 LABELS convert TIMEOUT 600
                       RESOURCE_LOCK convert_full)
  add_test(NAME convert.full.vitl14_336 COMMAND pat_test_convert_full --gtest_filter=CatSegFull.VitL14At336*)
  set_tests_properties(convert.full.vitl14_336 PROPERTIES FIXTURES_REQUIRED convert_vitl14_336 LABELS convert
                       TIMEOUT 600 RESOURCE_LOCK convert_full)
else()
  message(STATUS "PAT: python3 with torch not found (Debian: python3-torch): full-size conversion tests disabled")
endif()
