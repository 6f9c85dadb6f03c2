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

# One completion file for the three commands: bash-completion loads completions/CMD when CMD
# is first completed, so pg-ls and pg-ctl are symbolic links to pg-run's file.
set(pg_completions ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/bash-completion/pg DESTINATION ${pg_completions}
        RENAME pg-run)
install(CODE "
  foreach(cmd pg-ls pg-ctl)
    set(link \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${pg_completions}/\${cmd}\")
    message(STATUS \"Installing: \${link} -> pg-run\")
    file(CREATE_LINK pg-run \"\${link}\" SYMBOLIC)
  endforeach()")

# The revive unit and cron line name pg-ctl by its installed path (cron's and systemd's PATH
# are short; a wrong path fails silently at boot). Generated at install time, so that the
# prefix is the one installed to: `cmake --install --prefix P`, and /usr for cpack.
set(pg_doc ${CMAKE_INSTALL_DATADIR}/doc/process-guardian)
set(pg_contrib_out ${CMAKE_BINARY_DIR}/contrib)
install(CODE "
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_BINDIR}\")
    set(PG_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  else()
    set(PG_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  endif()
  configure_file(${CMAKE_SOURCE_DIR}/contrib/systemd/pg-revive.service.in
                 ${pg_contrib_out}/pg-revive.service @ONLY)
  configure_file(${CMAKE_SOURCE_DIR}/contrib/cron/pg-revive.cron.in
                 ${pg_contrib_out}/pg-revive.cron @ONLY)" ALL_COMPONENTS)
install(FILES ${pg_contrib_out}/pg-revive.service ${pg_contrib_out}/pg-revive.cron
        DESTINATION ${pg_doc}/examples)

# The --on-failure hooks people wire up (a desktop notification, a webhook) and agent-check for
# an agent harness's prompt hook: programs, so in PREFIX/share/process-guardian/hooks.
install(PROGRAMS ${CMAKE_SOURCE_DIR}/contrib/hooks/desktop-notify
                 ${CMAKE_SOURCE_DIR}/contrib/hooks/webhook
                 ${CMAKE_SOURCE_DIR}/contrib/hooks/agent-check
        DESTINATION ${CMAKE_INSTALL_DATADIR}/process-guardian/hooks)
# Example alerting rules over pg-ls --prometheus (promtool check rules in the tests).
install(FILES ${CMAKE_SOURCE_DIR}/contrib/prometheus/pg-alerts.rules.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/process-guardian/prometheus)

# Files only a Debian package carries, never a plain `cmake --install`: component `deb`,
# which cpack installs (CPACK_INSTALL_CMAKE_PROJECTS below) and debian/rules replaces with
# its own (dh_installchangelogs, debian/copyright, debian/*.lintian-overrides). The systemd
# user unit goes to lib/systemd/user there; -DPG_INSTALL_SYSTEMD_USER_UNIT=ON (debian/rules)
# installs it with the rest.
option(PG_INSTALL_SYSTEMD_USER_UNIT "Install pg-revive.service in PREFIX/lib/systemd/user" OFF)
if(PG_INSTALL_SYSTEMD_USER_UNIT)
  install(FILES ${pg_contrib_out}/pg-revive.service DESTINATION lib/systemd/user)
else()
  install(FILES ${pg_contrib_out}/pg-revive.service DESTINATION lib/systemd/user
          COMPONENT deb EXCLUDE_FROM_ALL)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/packaging/copyright DESTINATION ${pg_doc}
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME process-guardian
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${pg_gz_dir}/changelog.Debian.gz DESTINATION ${pg_doc}
        COMPONENT deb EXCLUDE_FROM_ALL)

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
# Everything a plain install has, plus the `deb` component.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/"
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};deb;/")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS bash-completion)
# The hooks of share/process-guardian/hooks: the webhook posts with curl, desktop-notify runs
# notify-send.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "curl, libnotify-bin")
include(CPack)
