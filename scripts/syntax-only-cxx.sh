#!/usr/bin/env bash
# Compiler launcher of scripts/cross-check.sh, where the only question is whether every file
# compiles for the target: the compiler parses, checks and instantiates templates
# (-fsyntax-only) but generates no code, and an empty file stands in for the object.
"$@" -fsyntax-only || exit
out=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out=$arg
  prev=$arg
done
[ -z "$out" ] || : >"$out"
