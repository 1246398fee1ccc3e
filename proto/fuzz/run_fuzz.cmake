# Seeds a fresh corpus from VECTORS (files matching SEEDS, *.msgpack by default: the
# protocol vectors) and runs FUZZER for 30 s. Any crash, leak or sanitizer report makes
# the fuzzer exit non-zero: the test fails.
if(NOT SEEDS)
  set(SEEDS "*.msgpack")
endif()
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
file(GLOB_RECURSE seeds ${VECTORS}/${SEEDS})
foreach(seed ${seeds})
  file(RELATIVE_PATH rel ${VECTORS} ${seed})
  string(REPLACE "/" "_" flat ${rel})
  configure_file(${seed} ${CORPUS}/${flat} COPYONLY)
endforeach()
execute_process(
  COMMAND ${FUZZER} -max_total_time=30 -rss_limit_mb=1024 -max_len=65536
          -artifact_prefix=${CORPUS}/../fuzz_artifacts- ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc})")
endif()
