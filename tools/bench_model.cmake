pat_add_tool(bench_model ${CMAKE_CURRENT_LIST_DIR}/bench_model.cpp)
pat_add_cli_test(bench_model.help $<TARGET_FILE:bench_model> --help)
pat_add_cli_test(bench_model.demo $<TARGET_FILE:bench_model> --config configs/demo.yaml --threads 1 --repeats 1
                 --warmup 0 --image 80 --image-width 100 --set eval.kernel=96 --set eval.out_res=160 --json)
