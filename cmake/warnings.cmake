# Warnings as an INTERFACE target: every project target links pg_warnings.
add_library(pg_warnings INTERFACE)
target_compile_options(pg_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2)
if(PG_WERROR)
  target_compile_options(pg_warnings INTERFACE -Werror)
endif()
