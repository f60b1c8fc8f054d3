#!/bin/sh
# dashboard-picture.sh puts a picture of the dashboard in README.md: it
# builds mnist-tui, trains the tutorial's CNN in a tmux pane of 100x30
# (NO_COLOR, so the capture is plain text with ASCII digits), captures the
# pane during the third epoch, and writes the capture, as it is, between
# the <!-- dashboard --> and <!-- /dashboard --> lines of README.md.
#
# Run it from the repository's root: scripts/dashboard-picture.sh
# It needs tmux and MNIST (fetched on the first run as usual).
set -eu

command -v tmux >/dev/null || { echo "dashboard-picture: tmux is needed (apt-get install tmux)" >&2; exit 1; }
[ -f README.md ] && [ -f go.mod ] || { echo "dashboard-picture: run me from the repository's root" >&2; exit 1; }

work=$(mktemp -d)
session="mnist-tui-picture-$$"
cleanup() {
	tmux kill-session -t "$session" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/mnist-tui" .
tmux new-session -d -s "$session" -x 100 -y 30 \
	"cd '$work' && NO_COLOR=1 ./mnist-tui --epochs 3 --seed 1 --runs-dir '$work/runs'; sleep 60"

# Wait for the third epoch to be under way: two rows in the table, the
# loss curve drawn, the sample digits of the last evaluation.
tries=0
until tmux capture-pane -t "$session" -p | grep -q 'epoch 3/3'; do
	tries=$((tries + 1))
	if [ "$tries" -gt 600 ]; then
		echo "dashboard-picture: the run did not reach epoch 3 in 5 minutes; the pane shows:" >&2
		tmux capture-pane -t "$session" -p >&2
		exit 1
	fi
	sleep 0.5
done
sleep 1 # a few batches into the epoch
tmux capture-pane -t "$session" -p >"$work/pane.txt"
tmux send-keys -t "$session" q

# Trailing blanks are the pane's padding, not the program's.
sed 's/[[:space:]]*$//' "$work/pane.txt" >"$work/picture.txt"

awk -v picture="$work/picture.txt" '
	/^<!-- dashboard -->$/ {
		print
		print "```"
		while ((getline line < picture) > 0) print line
		print "```"
		skip = 1
		next
	}
	/^<!-- \/dashboard -->$/ { skip = 0 }
	!skip { print }
' README.md >"$work/README.md"
grep -q '^<!-- /dashboard -->$' "$work/README.md" || { echo "dashboard-picture: README.md needs a <!-- /dashboard --> line after <!-- dashboard -->" >&2; exit 1; }
cp "$work/README.md" README.md
echo "dashboard-picture: README.md updated"
