# -DPG_FUZZ=ON (with clang++): every target compiled with libFuzzer's coverage hooks and
# ASan + UBSan, so that the fuzz/ targets see into pg_common; see fuzz/run.sh.
option(PG_FUZZ "Build the libFuzzer targets of fuzz/ (needs clang++)" OFF)
if(PG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PG_FUZZ needs clang++: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
