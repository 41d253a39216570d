set(PAT_ENGINE_SOURCES
  engine/metrics.cpp
  engine/inference_protocol.cpp
  engine/label_map_io.cpp
  engine/prediction_scoring.cpp
  engine/report.cpp
)
