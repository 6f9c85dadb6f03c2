# Sanitizers as an INTERFACE target, so tests and binaries get the same flags.
add_library(pg_sanitizers INTERFACE)
if(PG_SANITIZE)
  target_compile_options(pg_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
    # GCC 12 reports false maybe-uninitialized warnings inside <regex> under ASan.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(pg_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
