package dashboard

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine/config"
	"mnist-tui/engine/train"
	"mnist-tui/ui/termdraw"
)

// headerLines draws the two header lines: what is being trained and its
// state, then where the run is and how fast it goes.
func headerLines(snap train.Snapshot, title string, stopping bool, width int, st styles) string {
	model := oneLine(snap.Model)
	if snap.Model == config.Custom {
		model = oneLine(snap.Config.Label()) // its name: tells the networks apart
	}
	if model == "" {
		model = "model not built yet"
	}
	what := []string{st.title.Render(title), st.value.Render(model)}
	if snap.Params > 0 {
		what = append(what, st.label.Render(groupThousands(int64(snap.Params))+" params"))
	}
	if snap.Dataset != "" {
		what = append(what, st.label.Render("on ")+st.value.Render(oneLine(snap.Dataset)))
	}
	what = append(what, trainingRecipe(snap.Config, st)...)
	badge := st.stateBadge(snap.State, stopping)
	left := termdraw.FitWidth(strings.Join(what, st.dim.Render(" · ")), width-lipgloss.Width(badge)-1)
	gap := max(1, width-lipgloss.Width(left)-lipgloss.Width(badge))
	line1 := left + strings.Repeat(" ", gap) + badge

	// Before the first batch (loading, or a run that failed to start)
	// there is no epoch yet: "–", not "0".
	epoch := "–"
	if snap.Epoch > 0 {
		epoch = strconv.Itoa(snap.Epoch)
	}
	// Most important first: items that do not fit are dropped from the end.
	items := []string{
		st.label.Render("epoch ") + st.value.Render(fmt.Sprintf("%s/%d", epoch, snap.Epochs)),
		st.label.Render("elapsed ") + st.value.Render(formatDuration(snap.Elapsed)),
		st.label.Render("ETA ") + st.value.Render(formatDuration(snap.ETA)),
		st.value.Render(formatRate(snap.ImagesPerSec)) + st.label.Render(" img/s"),
		st.label.Render("lr ") + st.value.Render(formatFloat(snap.LR)),
		st.label.Render("momentum ") + st.value.Render(formatFloat(snap.Momentum)),
		st.label.Render("step ") + st.value.Render(groupThousands(snap.Step)),
	}
	if snap.Config.Optimizer == "adam" || snap.Config.Optimizer == "adamw" {
		items = slices.Delete(items, 5, 6) // Adam has no momentum setting: it would mislead
	}
	return line1 + "\n" + joinFitting(items, st.dim.Render(" · "), width)
}

// trainingRecipe names how the run trains, for the header: its recipe (if
// any), its optimizer and its learning-rate schedule.
func trainingRecipe(cfg config.Config, st styles) []string {
	if cfg.Optimizer == "" {
		return nil // no configuration yet (a snapshot before the run starts)
	}
	var out []string
	if cfg.Recipe != "" {
		out = append(out, st.label.Render("recipe ")+st.value.Render(oneLine(cfg.Recipe)))
	}
	optimizer := cfg.Optimizer
	if cfg.Nesterov {
		optimizer += " nesterov"
	}
	return append(out, st.value.Render(oneLine(optimizer)), st.value.Render(oneLine(cfg.Schedule))+st.label.Render(" schedule"))
}

// progressLines draws the epoch progress bar and, while data is being
// fetched, the download bar under it.
func progressLines(snap train.Snapshot, bar progress.Model, width int, st styles) string {
	counts := fmt.Sprintf(" batch %d/%d", snap.Batch, snap.Batches)
	if snap.Batches == 0 {
		counts = " batch –" // the data set is not loaded: no count to show
	}
	epoch := "–"
	if snap.Epoch > 0 {
		epoch = strconv.Itoa(snap.Epoch)
	}
	label := st.label.Render(fmt.Sprintf("epoch %-3s ", epoch))
	bar.Width = max(10, width-lipgloss.Width(label)-len(counts))
	out := label + bar.ViewAs(fraction(snap.Batch, snap.Batches)) + st.label.Render(counts)
	if d := snap.Download; d != nil {
		out += "\n" + downloadLine(*d, bar, width, st)
	}
	return out
}

func downloadLine(d train.Download, bar progress.Model, width int, st styles) string {
	label := st.label.Render("download ") + st.value.Render(oneLine(d.File)) + " "
	if d.Total <= 0 {
		// Unknown size: a bar would lie, so only the count is shown.
		return termdraw.FitWidth(label+st.label.Render(formatBytes(d.Done)+" so far"), width)
	}
	size := " " + formatBytes(d.Done) + " / " + formatBytes(d.Total)
	label = termdraw.FitWidth(label, width/2)
	bar.Width = max(10, width-lipgloss.Width(label)-len(size))
	return label + bar.ViewAs(float64(d.Done)/float64(d.Total)) + st.label.Render(size)
}

// maxAlertLines bounds how many lines a warning on the status line may wrap
// onto, so that a long one still leaves the charts their room.
const maxAlertLines = 6

// statusText is the line above the key hint. What the user most needs to
// know wins: that quitting is in progress, then errors, then the answer to
// their last key press, then the trainer's own message. A warning the run
// goes on with (a file it could not write) names the file, the reason and
// what to do: when it does not fit on one line it is wrapped whole onto up to
// maxAlertLines lines rather than cut, and the other messages follow on a line
// of their own. A failed run's error stays on one line: the dashboard page
// shows it whole in place of the charts.
func statusText(snap train.Snapshot, stopping bool, note string, width int, st styles) string {
	var alerts, parts []string
	final := snap.State == train.Done || snap.State == train.Failed
	if stopping && !final {
		parts = append(parts, st.warn.Render("stopping — saving checkpoint… (ctrl+c again quits at once)"))
	}
	if snap.SaveErr != nil && snap.State != train.Failed {
		// Files the run could not write: kept in sight until they are,
		// whatever messages come after (a failed run says it in Err).
		alerts = append(alerts, st.bad.Render(oneLine(snap.SaveErr.Error())))
	}
	if snap.Err != nil {
		if snap.State == train.Failed {
			parts = append(parts, st.bad.Render("run failed: "+oneLine(snap.Err.Error())))
		} else {
			alerts = append(alerts, st.bad.Render("error: "+oneLine(snap.Err.Error())))
		}
	}
	if note != "" {
		parts = append(parts, st.warn.Render(note))
	}
	if snap.Message != "" && (len(alerts) == 0 || !alertsSay(snap, snap.Message)) {
		parts = append(parts, oneLine(snap.Message))
	}
	if snap.State == train.Done && !stopping {
		parts = append(parts, st.good.Render("run finished — q quits"))
	}
	sep := st.dim.Render(" · ")
	if len(alerts) > 0 && stopping && !final {
		// Quitting in progress is said first, before any warning.
		alerts = append([]string{parts[0]}, alerts...)
		parts = parts[1:]
	}
	whole := strings.Join(append(append([]string(nil), alerts...), parts...), sep)
	switch {
	case lipgloss.Width(whole) <= width:
		return termdraw.FitWidth(whole, width)
	case snap.State == train.Done && !stopping:
		// The run's last word says where its checkpoints (or a
		// comparison's report) are: wrapped whole, once, at the end.
		return wrapLines(whole, width, maxFinalLines)
	case len(alerts) == 0:
		return termdraw.FitWidth(whole, width)
	}
	out := wrapLines(strings.Join(alerts, sep), width, maxAlertLines)
	if len(parts) > 0 {
		out += "\n" + termdraw.FitWidth(strings.Join(parts, sep), width)
	}
	return out
}

// maxFinalLines bounds the status lines of a finished run.
const maxFinalLines = 4

// wrapLines wraps text to width on at most n lines, the last one marked
// with "…" when text needs more.
func wrapLines(text string, width, n int) string {
	lines := strings.Split(ansi.Wrap(text, max(width, 10), " /"), "\n")
	if len(lines) > n {
		lines = lines[:n]
		lines[n-1] = ansi.Truncate(lines[n-1], max(width-1, 0), "") + "…"
	}
	for i, l := range lines {
		lines[i] = termdraw.FitWidth(strings.TrimRight(l, " "), width)
	}
	return strings.Join(lines, "\n")
}

// alertsSay tells whether msg only repeats a warning already shown: the
// trainer puts a failed save in its message too.
func alertsSay(snap train.Snapshot, msg string) bool {
	for _, err := range []error{snap.SaveErr, snap.Err} {
		if err != nil && strings.Contains(oneLine(err.Error()), oneLine(msg)) {
			return true
		}
	}
	return false
}

// oneLine makes text from the trainer safe for a single screen line: a
// wrapped error or a stray escape sequence must not break the layout.
func oneLine(s string) string {
	return strings.Join(strings.Fields(ansi.Strip(s)), " ")
}

// joinFitting joins as many leading items as fit in width.
func joinFitting(items []string, sep string, width int) string {
	out := ""
	for i, it := range items {
		next := it
		if i > 0 {
			next = out + sep + it
		}
		if lipgloss.Width(next) > width {
			break
		}
		out = next
	}
	return out
}

func fraction(done, total int) float64 {
	if total <= 0 {
		return 0
	}
	return min(1, max(0, float64(done)/float64(total)))
}

// formatDuration shows whole seconds, the way a person reads a clock;
// zero means unknown.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// formatRate shows a throughput as a whole number; zero means unknown.
func formatRate(r float64) string {
	if !(r > 0) || math.IsInf(r, 0) {
		return "–"
	}
	return groupThousands(int64(math.Round(r)))
}

// formatFloat prints hyperparameters compactly: 0.01, 0.5, 1e-05.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// groupThousands writes 44426 as "44,426".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatBytes(n int64) string {
	const mb = 1 << 20
	if n >= mb {
		return fmt.Sprintf("%.1f MB", float64(n)/mb)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1024)
}

// failurePanel shows why the run failed, all of it, wrapped to width: an
// error that names the places it looked and ends with what to do must not
// be cut to one status line. When it is taller than height, the middle
// gives way, since the end of a message says what to do.
func failurePanel(err error, width, height int, st styles) string {
	var lines []string
	for _, para := range strings.Split(ansi.Strip(err.Error()), "\n") {
		para = strings.TrimRight(strings.Map(printable, para), " ")
		if para == "" {
			continue
		}
		indent := len(para) - len(strings.TrimLeft(para, " "))
		wrapped := ansi.Wrap(strings.TrimLeft(para, " "), max(10, width-indent-2), " /")
		for i, l := range strings.Split(wrapped, "\n") {
			pad := strings.Repeat(" ", indent)
			if i > 0 {
				pad += "  " // a wrapped line reads as the same item
			}
			lines = append(lines, pad+l)
		}
	}
	title := st.bad.Bold(true).Render("the run failed") + st.dim.Render(" · q quits; the message is printed again after quitting")
	room := height - 1
	if len(lines) > room && room >= 3 {
		head := (room - 1) / 2
		tail := room - 1 - head
		cut := len(lines) - head - tail
		lines = append(append(lines[:head:head], st.dim.Render(fmt.Sprintf("  … %d lines more (all printed after quitting) …", cut))), lines[len(lines)-tail:]...)
	}
	for i, l := range lines {
		lines[i] = st.bad.Render(l)
	}
	return termdraw.FitBlock(termdraw.FitWidth(title, width)+"\n"+strings.Join(lines, "\n"), width, height)
}

// printable keeps the characters that are safe on screen: a control
// character from an error's text would break the layout.
func printable(r rune) rune {
	if r == '\t' {
		return ' '
	}
	if r < ' ' || r == 0x7f {
		return -1
	}
	return r
}
