#!/bin/sh
# List the long functions of lib/*.c and cmd/*.c.
# Usage: tools/funclen.sh [MIN [FILE...]]   (MIN defaults to 80)
#
# A function is a '{' alone at column 0 (house style puts a function's
# opening brace there and nowhere else) up to the next '}' at column 0.
# Its length counts both braces.  Its name is the identifier before the
# first '(' of the last line above the brace that starts at column 0 and
# is not a comment or a preprocessor line.  Prints FILE:LINE NAME LENGTH
# for each function of MIN lines or more, longest first, then the count.
set -u
cd "$(dirname "$0")/.." || exit 1
min=${1:-80}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- lib/*.c cmd/*.c

awk -v min="$min" '
FNR == 1 { start = 0; head = ""; headline = 0 }
start == 0 && /^[A-Za-z_]/ { head = $0; headline = FNR }
start == 0 && /^\{/ {
	start = FNR
	name = head
	sub(/\(.*/, "", name)
	sub(/.*[^A-Za-z0-9_]/, "", name)
	if (name == "")
		name = "?"
	where = FILENAME ":" headline
	next
}
start > 0 && /^\}/ {
	len = FNR - start + 1
	if (len >= min)
		printf "%s %s %d\n", where, name, len
	start = 0
}
' "$@" | sort -k3,3nr -k1,1 | awk '
{ print; n++ }
END { printf "%d functions of '"$min"' lines or more\n", n }'
