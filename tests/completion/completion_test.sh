#!/usr/bin/env bash
# The bash completion (contrib/bash-completion/pg) driven as bash drives it: COMP_WORDS split at
# blanks and around '=' (COMP_WORDBREAKS), COMP_CWORD, COMP_LINE, then the function and its
# COMPREPLY; without the bash-completion package. Then every long option (and verb) the built
# programs' --help prints must be known to it, taking a value exactly when --help says so.
# Usage: completion_test.sh COMPLETION_FILE PG_RUN PG_LS PG_CTL
set -uo pipefail
completion=$1 pg_run=$2 pg_ls=$3 pg_ctl=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A state directory with two jobs, a folder that is no job, and an empty one elsewhere.
state=$tmp/state
mkdir -p "$state/alpha" "$state/beta" "$state/not-a-job" "$tmp/empty-state" "$tmp/home" \
  "$tmp/cwd"
echo '{}' >"$state/alpha/state.json"
echo '{}' >"$state/beta/state.json"

# shellcheck source=/dev/null
source "$completion" || { echo "cannot source $completion" >&2; exit 1; }
export HOME=$tmp/home PG_STATE_DIR=$tmp/empty-state
unset XDG_STATE_HOME
cd "$tmp/cwd" || exit 1
default_breaks=$' \t\n"\'><=;|&(:'
COMP_WORDBREAKS=$default_breaks

# Completes LINE, the cursor at its end, with FUNC as bash would: sets COMP_* and calls FUNC.
complete_line()
{
  local func=$1 line=$2 w
  local -a split
  COMP_LINE=$line
  COMP_POINT=${#line}
  read -ra split <<<"$line"
  [[ $line == *' ' ]] && split+=('')
  COMP_WORDS=()
  for w in "${split[@]}"; do
    if [[ $COMP_WORDBREAKS == *=* && $w == *=* ]]; then
      # --state-dir=DIR is three words: --state-dir, =, DIR (two while DIR is still empty).
      while [[ $w == *=* ]]; do
        [[ -n ${w%%=*} ]] && COMP_WORDS+=("${w%%=*}")
        COMP_WORDS+=('=')
        w=${w#*=}
      done
      [[ -n $w ]] && COMP_WORDS+=("$w")
    else
      COMP_WORDS+=("$w")
    fi
  done
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  "$func"
}

failures=0
fail()
{
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

offered()
{
  local w
  for w in "${COMPREPLY[@]}"; do
    [[ $w == "$1" ]] && return 0
  done
  return 1
}

# expect FUNC LINE WORD...: completing LINE offers every WORD.
expect()
{
  local func=$1 line=$2 w
  shift 2
  complete_line "$func" "$line"
  for w; do
    offered "$w" || fail "'$line<TAB>' does not offer '$w' (offers: ${COMPREPLY[*]})"
  done
}

# expect_not FUNC LINE WORD...: completing LINE offers none of the WORDs.
expect_not()
{
  local func=$1 line=$2 w
  shift 2
  complete_line "$func" "$line"
  for w; do
    ! offered "$w" || fail "'$line<TAB>' offers '$w' (offers: ${COMPREPLY[*]})"
  done
}

# expect_exactly FUNC LINE WORD...: completing LINE offers the WORDs and nothing else.
expect_exactly()
{
  local func=$1 line=$2 want got
  shift 2
  complete_line "$func" "$line"
  want=$(printf '%s\n' "$@" | sort)
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
  [[ $got == "$want" ]] || fail "'$line<TAB>' offers '${got//$'\n'/ }', not '${want//$'\n'/ }'"
}

# Verbs and options.
expect _pg_ctl 'pg-ctl ' start stop restart signal logs forget revive ack unit --state-dir \
  --json --version --help
expect _pg_ctl 'pg-ctl --json ' stop revive
expect _pg_ctl 'pg-ctl revive --' --replace --scope --json --state-dir --help
expect_exactly _pg_ctl 'pg-ctl revive --r' --replace
expect _pg_ctl 'pg-ctl logs --' --lines --follow
expect _pg_ctl 'pg-ctl logs -' -n -f --lines --follow
expect _pg_ctl 'pg-ctl stop --' --timeout --all
expect _pg_ctl 'pg-ctl restart --' --all
expect _pg_ctl 'pg-ctl start --' --wait --update-env --all --state-dir --json
expect _pg_ctl 'pg-ctl ack --' --all
expect_not _pg_ctl 'pg-ctl forget --' --all --timeout --replace
expect_exactly _pg_ctl 'pg-ctl start --u' --update-env
expect _pg_ls 'pg-ls --' --state-dir --json --check --events --since --prometheus --version --help
expect _pg_run 'pg-run --' --name --replace --wait --state-dir --notify --on-failure --
expect_exactly _pg_run 'pg-run --restart ' on-failure always never
expect_exactly _pg_run 'pg-run --restart=al' always

# Job names from --state-dir DIR and --state-dir=DIR (bash splits the latter at '='), wherever
# the option stands; $PG_STATE_DIR (here an empty state directory) only without either.
for breaks in "$default_breaks" "${default_breaks//=/}"; do
  COMP_WORDBREAKS=$breaks
  for sd in "--state-dir $state" "--state-dir=$state"; do
    expect_exactly _pg_ctl "pg-ctl $sd stop " alpha beta
    expect_exactly _pg_ctl "pg-ctl stop $sd " alpha beta
    expect_exactly _pg_ctl "pg-ctl $sd start " alpha beta
    expect_exactly _pg_ctl "pg-ctl $sd ack --all b" beta
    expect_exactly _pg_ctl "pg-ctl $sd revive --replace a" alpha
    expect_exactly _pg_ctl "pg-ctl $sd logs --lines 5 " alpha beta
    expect_exactly _pg_ctl "pg-ctl $sd logs -n 5 --follow " alpha beta
    expect_exactly _pg_ctl "pg-ctl $sd logs alpha " # one name only
    expect_exactly _pg_ctl "pg-ctl $sd signal " alpha beta
    expect _pg_ctl "pg-ctl $sd signal alpha " TERM USR1 HUP
    expect_exactly _pg_ctl "pg-ctl $sd start --wait 5s --update-env " alpha beta
    expect_exactly _pg_ls "pg-ls $sd " alpha beta
    expect_exactly _pg_ls "pg-ls --json $sd a" alpha
    expect_exactly _pg_run "pg-run $sd --name " alpha beta
    expect_exactly _pg_run "pg-run $sd -n b" beta
  done
  expect_exactly _pg_ctl 'pg-ctl stop ' # the empty $PG_STATE_DIR
done
COMP_WORDBREAKS=$default_breaks
PG_STATE_DIR=$state expect_exactly _pg_ctl 'pg-ctl restart ' alpha beta
PG_STATE_DIR=$state expect_not _pg_ctl 'pg-ctl ' alpha beta # a verb first

# --state-dir's own value: folders; only the part after '=' when bash splits there.
expect_exactly _pg_ctl "pg-ctl --state-dir $state/al" "$state/alpha"
expect_exactly _pg_ctl "pg-ctl --state-dir=$state/al" "$state/alpha"
expect_exactly _pg_ls "pg-ls --state-dir=$state/b" "$state/beta"
COMP_WORDBREAKS=${default_breaks//=/}
expect_exactly _pg_ctl "pg-ctl --state-dir=$state/al" "--state-dir=$state/alpha"
expect_exactly _pg_run "pg-run --name=a --state-dir=$state" "--state-dir=$state"
COMP_WORDBREAKS=$default_breaks

# pg-run: once the job's command starts, pg-run's options are no longer offered.
expect _pg_run 'pg-run --name bot --duration 8h --' --restart
expect_not _pg_run 'pg-run --name bot python3 -' --name --restart
expect_not _pg_run 'pg-run -n bot -- python3 --' --name
expect_not _pg_run 'pg-run --name=bot --oneshot python3 --' --name

# What the programs say: every verb and long option of their --help, in the completion; an
# option taking a value (help: '--opt TYPE') exactly when the completion expects one.
# options HELP_TEXT: prints "--long value" or "--long flag" for each line of its Options section.
options()
{
  awk '/^[^ ]/ { in_options = /^Options:/; next }
  in_options && /^ +(-[A-Za-z0-9], *)?--[A-Za-z0-9]/ {
    sub(/^ +(-[A-Za-z0-9], *)?/, "")
    split($0, f, / +/)
    # A value: TYPE, a list (STATE[,STATE...]) or an optional one ([DURATION], which CLI11
    # takes from the next word all the same).
    kind = f[2] ~ /^\[?[A-Z][][A-Z0-9_=:,.]*$/ && f[2] != "REQUIRED" ? "value" : "flag"
    print f[1], kind
  }' <<<"$1"
}

# check_options WHAT HELP_TEXT PREFIX: every option of HELP_TEXT is offered for 'PREFIX--'.
check_options()
{
  local what=$1 help=$2 prefix=$3 func opt kind n=0
  func=_${prefix%% *}
  func=${func//-/_}
  while read -r opt kind; do
    n=$((n + 1))
    expect "$func" "$prefix--" "$opt"
    case $what:$kind in
    pg-run:value) expect "$func" "$prefix$opt x --na" --name ;;
    pg-run:flag) expect_not "$func" "$prefix$opt x --na" --name ;;
    *:value) PG_STATE_DIR=$state expect_not "$func" "$prefix$opt " alpha stop ;;
    pg-ctl:flag) PG_STATE_DIR=$state expect "$func" "$prefix$opt " stop ;;
    *:flag) PG_STATE_DIR=$state expect "$func" "$prefix$opt " alpha ;;
    esac
  done < <(options "$help")
  ((n > 0)) || fail "$what --help: no option found in its Options section"
}

help=$("$pg_run" --help) || fail 'pg-run --help failed'
check_options pg-run "$help" 'pg-run '
help=$("$pg_ls" --help) || fail 'pg-ls --help failed'
check_options pg-ls "$help" 'pg-ls '
help=$("$pg_ctl" --help) || fail 'pg-ctl --help failed'
check_options pg-ctl "$help" 'pg-ctl '
mapfile -t verbs < <(awk '/^[^ ]/ { in_verbs = /^Subcommands:/; next }
  in_verbs && /^ +[a-z]/ { print $1 }' <<<"$help")
((${#verbs[@]} >= 7)) || fail "pg-ctl --help: no verbs found in: $help"
for verb in "${verbs[@]}"; do
  expect _pg_ctl 'pg-ctl ' "$verb"
  help=$("$pg_ctl" "$verb" --help) || fail "pg-ctl $verb --help failed"
  check_options "pg-ctl $verb" "$help" "pg-ctl $verb "
done

if ((failures > 0)); then
  echo "$failures failed" >&2
  exit 1
fi
echo "completion: all cases pass (verbs: ${verbs[*]})"
