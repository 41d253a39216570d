set(PAT_CLIP_SOURCES
  clip/tokenizer.cpp
  clip/detail/bpe.cpp
  clip/detail/html_unescape.cpp
  clip/detail/pretokenize.cpp
  clip/detail/text_clean.cpp
  clip/detail/unicode.cpp
)
