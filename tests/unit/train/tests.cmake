pat_add_unit_test(train
  ${CMAKE_CURRENT_LIST_DIR}/test_checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_lr_schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_metrics_log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_clip_pretrain.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_grad_clip.cpp
)
