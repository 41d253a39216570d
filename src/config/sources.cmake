set(PAT_CONFIG_SOURCES
  config/config.cpp
)
