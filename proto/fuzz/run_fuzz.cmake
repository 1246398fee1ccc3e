# Seeds a fresh corpus and runs a libFuzzer target for 30 s:
#   -DFUZZER=<binary> -DVECTORS=<seed dir> -DCORPUS=<corpus dir>
#   [-DSEEDS=<glob under VECTORS>, default *.msgpack] [-DMAX_LEN=<bytes>, default 65536]
# Used by fuzz_decode (proto/vectors), fuzz_otlp_logs (services/otlp/fuzz/seeds) and
# fuzz_query (services/reporter/fuzz/seeds).
# Any crash, leak or sanitizer report makes the fuzzer exit non-zero: the test fails.
if(NOT SEEDS)
  set(SEEDS "*.msgpack")
endif()
if(NOT MAX_LEN)
  set(MAX_LEN 65536)
endif()
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
file(GLOB_RECURSE seeds ${VECTORS}/${SEEDS})
foreach(seed ${seeds})
  file(RELATIVE_PATH rel ${VECTORS} ${seed})
  string(REPLACE "/" "_" flat ${rel})
  configure_file(${seed} ${CORPUS}/${flat} COPYONLY)
endforeach()
get_filename_component(name ${FUZZER} NAME)
execute_process(
  COMMAND ${FUZZER} -max_total_time=30 -rss_limit_mb=1024 -max_len=${MAX_LEN}
          -artifact_prefix=${CORPUS}/../${name}_artifacts- ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${name} failed (exit ${rc})")
endif()
