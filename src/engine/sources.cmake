set(PAT_ENGINE_SOURCES
  engine/checkpoint.cpp
  engine/lr_schedule.cpp
  engine/metrics_log.cpp
  engine/signals.cpp
)
