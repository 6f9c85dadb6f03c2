# Installation (cmake --install) and the Debian package (cpack -G DEB).
# Man pages and the Debian changelog are installed gzipped (-9n, reproducible), as Debian
# policy wants; the bash completion goes where bash-completion loads it lazily, once per
# command name.
include(GNUInstallDirs)

find_program(PG_GZIP gzip REQUIRED)
set(pg_gz_dir ${CMAKE_BINARY_DIR}/gz)
set(pg_gz_files)
foreach(page pg-run pg-ls pg-ctl)
  add_custom_command(
    OUTPUT ${pg_gz_dir}/${page}.1.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${pg_gz_dir}
    COMMAND ${PG_GZIP} -9nc ${CMAKE_SOURCE_DIR}/man/${page}.1 > ${pg_gz_dir}/${page}.1.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${page}.1
    VERBATIM)
  list(APPEND pg_gz_files ${pg_gz_dir}/${page}.1.gz)
endforeach()
add_custom_command(
  OUTPUT ${pg_gz_dir}/changelog.Debian.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${pg_gz_dir}
  COMMAND ${PG_GZIP} -9nc ${CMAKE_SOURCE_DIR}/packaging/changelog.Debian
          > ${pg_gz_dir}/changelog.Debian.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/changelog.Debian
  VERBATIM)
add_custom_target(pg_compressed_docs ALL DEPENDS ${pg_gz_files} ${pg_gz_dir}/changelog.Debian.gz)

install(FILES ${pg_gz_files} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
foreach(cmd pg-run pg-ls pg-ctl)
  install(FILES ${CMAKE_SOURCE_DIR}/contrib/bash-completion/pg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${cmd})
endforeach()
set(pg_doc ${CMAKE_INSTALL_DATADIR}/doc/process-guardian)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/copyright DESTINATION ${pg_doc})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME process-guardian)
install(FILES ${pg_gz_dir}/changelog.Debian.gz DESTINATION ${pg_doc})
install(FILES ${CMAKE_SOURCE_DIR}/contrib/systemd/pg-revive.service
              ${CMAKE_SOURCE_DIR}/contrib/cron/pg-revive.cron
        DESTINATION ${pg_doc}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME process-guardian)
set(CPACK_PACKAGE_VENDOR "The process-guardian developers")
set(CPACK_PACKAGE_CONTACT "process-guardian developers <maintainers@process-guardian.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "babysitter for long-running background jobs")
# The summary is the Description's first line; this is the extended text under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pg-run starts a command detached from the session, supervises it for its
whole life, restarts it by policy and records every exit exactly: status,
runtime, outcome and cause (including who sent a signal). pg-ls shows the
jobs (table, detail, JSON, health check, history, Prometheus metrics);
pg-ctl stops, restarts, signals, revives and forgets them and shows their
output.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/process-guardian/process-guardian")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1) # a Debian revision: not a native package
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PACKAGE_FILE_NAME "process-guardian")
include(CPack)
