# Shared by the shell tests (source it after their skip checks): a scratch folder $tmp removed on
# exit, fail() to count a failure and go on, run() for a command that must succeed, and finish() to
# end with the count.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# fail MESSAGE...: prints FAIL and the message, and counts it.
fail() {
  echo "FAIL $*"
  fails=$((fails + 1))
}

# run NAME COMMAND...: must exit 0; its stdout and stderr are kept in $tmp/NAME.{out,err}.
run() {
  local name=$1
  shift
  if "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    echo "ok   $name"
  else
    fail "$name: exit code $?"
    sed 's/^/     /' "$tmp/$name.err" | tail -5
  fi
}

# wait_for TRIES PAUSE TEST...: runs TEST (a command) until it succeeds, at most TRIES times with
# PAUSE seconds between; returns its last status.
wait_for() {
  local tries=$1 pause=$2 i
  shift 2
  for ((i = 1; i < tries; ++i)); do
    "$@" && return 0
    sleep "$pause"
  done
  "$@"
}

# finish [SUCCESS LINE]: exits 1 after saying how many failed, else prints the line and exits 0.
finish() {
  if ((fails)); then
    echo "$fails failed"
    exit 1
  fi
  echo "${1:-all passed}"
  exit 0
}
