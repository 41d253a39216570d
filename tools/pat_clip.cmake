pat_add_tool(pat_clip ${CMAKE_CURRENT_LIST_DIR}/pat_clip.cpp)

# Smoke tests on the tiny fixture model (tests/data/clip, heads of width 16, byte-level texts) and the
# vendored BPE vocabulary (third_party/clip, the default of `tokenize`).
set(PAT_CLIP_TINY --model tests/data/clip/tiny_clip.pt --head-dim 16)
set(PAT_CLIP_OUT ${CMAKE_BINARY_DIR}/cli_tests/pat_clip_embed)
pat_add_cli_test(pat_clip.help $<TARGET_FILE:pat_clip> --help)
pat_add_cli_test(pat_clip.tokenize $<TARGET_FILE:pat_clip> tokenize "a photo of a cat."
                 "traffic light")
pat_add_cli_test(pat_clip.classify $<TARGET_FILE:pat_clip> classify ${PAT_CLIP_TINY}
                 --image tests/data/clip/gradient.png --classes "cat,dog,sofa" --templates single)
pat_add_cli_test(pat_clip.classify_json $<TARGET_FILE:pat_clip> classify ${PAT_CLIP_TINY}
                 --image tests/data/clip/gradient.png --classes "cat,dog" --json)
pat_add_cli_test(pat_clip.embed $<TARGET_FILE:pat_clip> embed ${PAT_CLIP_TINY} --image tests/data/clip/gradient.png
                 --image tests/data/clip/gradient.png --text "a cat" --out ${PAT_CLIP_OUT})
pat_add_cli_test(pat_clip.embed_output ${CMAKE_COMMAND} -E cat ${PAT_CLIP_OUT}/image_embeds.npy
                 ${PAT_CLIP_OUT}/text_embeds.npy)
pat_add_cli_test(pat_clip.missing_model $<TARGET_FILE:pat_clip> classify --model tests/data/clip/missing.pt
                 --image tests/data/clip/gradient.png --classes "cat")
pat_add_cli_test(pat_clip.missing_model_message $<TARGET_FILE:pat_clip> classify --model tests/data/clip/missing.pt
                 --image tests/data/clip/gradient.png --classes "cat")
if(PAT_BUILD_TESTS)
  set_tests_properties(cli.pat_clip.tokenize PROPERTIES PASS_REGULAR_EXPRESSION
                       "^49406 320 1125 539 320 2368 269 49407\n49406 3399 1395 49407\n$")
  set_tests_properties(cli.pat_clip.classify PROPERTIES PASS_REGULAR_EXPRESSION "^[01]\\.[0-9]+\t(cat|dog|sofa)\n")
  set_tests_properties(cli.pat_clip.classify_json PROPERTIES PASS_REGULAR_EXPRESSION "\"probability\"")
  set_tests_properties(cli.pat_clip.embed PROPERTIES FIXTURES_SETUP pat_clip_embed)
  set_tests_properties(cli.pat_clip.embed_output PROPERTIES FIXTURES_REQUIRED pat_clip_embed)
  set_tests_properties(cli.pat_clip.missing_model PROPERTIES WILL_FAIL TRUE)
  set_tests_properties(cli.pat_clip.missing_model_message PROPERTIES PASS_REGULAR_EXPRESSION "^error: [^\n]*missing\\.pt[^\n]*\n$")
endif()
