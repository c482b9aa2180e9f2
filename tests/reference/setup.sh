# Sourced by tests/*_reference.sh after `here=` (the tests folder): `source "$here/reference/setup.sh"
# NAME`. Sets py, the Debian interpreter that has numpy (or skips the test, exit 77, without it),
# and dir, a work folder /tmp/sinkscope-NAME-XXXXXX removed on exit.
py=/usr/bin/python3
if ! "$py" -c "import numpy" 2>/dev/null; then
  echo "skipped: $py has no numpy (apt-get install python3-numpy)"
  exit 77
fi
dir=$(mktemp -d "/tmp/sinkscope-$1-XXXXXX")
trap 'rm -rf "$dir"' EXIT
