package editor

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"mnist-tui/engine/config"
	"mnist-tui/engine/network"
)

// networkLines are the summary of the text's custom network for the side
// panel, in at most maxLines lines of width: a header, one line a layer
// (its module, output shape and parameters; the shape left out when
// narrow), then the totals. Layers that do not fit are counted, and
// `mnist-tui summary` named for the whole table. Nil without a network.
func networkLines(c config.Config, width, maxLines int) []string {
	if c.Model != config.Custom || c.Network == nil || maxLines < 3 {
		return nil
	}
	s := network.Summarize(c.Name, c.Network, c.BatchSize)
	// Layers counted as the list of changes counts them: the top level.
	// Each line in the first of its wordings that fits: the panel is 26
	// columns on an 80-column terminal.
	layers := fmt.Sprintf("%d layers", len(c.Network.Layers))
	header := firstFit(width, "network "+c.Label()+" · "+layers, c.Label()+" · "+layers)
	params, madds := network.Count(s.Params)+" params", fmt.Sprintf("%.2f M mult-adds/image", float64(s.MultiplyAdds)/float64(max(s.Batch, 1))/1e6)
	totals := []string{params + " · " + madds}
	switch {
	case ansi.StringWidth(totals[0]) <= width:
	case maxLines > 3:
		totals = []string{fit(params, width), fit(madds, width)}
		maxLines-- // the totals take two lines
	default:
		totals[0] = fit(totals[0], width)
	}
	lines := []string{header}

	// Columns as wide as their widest cell; the shapes go first when the
	// modules would have too little room.
	shapeW, paramsW := 0, 0
	for _, r := range s.Rows {
		shapeW = max(shapeW, len(r.Layer.OutShape.String())+1)
		paramsW = max(paramsW, len(network.Count(r.Params))+1)
	}
	if width-shapeW-paramsW < 16 {
		shapeW = 0
	}
	labelW := max(4, width-shapeW-paramsW)
	rows := s.Rows
	room := maxLines - 2 // the header and the totals
	hidden := 0
	if len(rows) > room {
		hidden = len(rows) - (room - 1) // one line says how many more
		rows = rows[:max(0, room-1)]
	}
	for _, r := range rows {
		// One cell short of its column, so that a cut module keeps a space before its shape;
		// PyTorch's name for it where it fits, else a terser one.
		indent := strings.Repeat(" ", r.Depth+1)
		label := firstFit(labelW-1, indent+r.Describe(), indent+r.Short())
		line := label + strings.Repeat(" ", labelW-ansi.StringWidth(label))
		if shapeW > 0 {
			line += fmt.Sprintf("%-*s", shapeW, fit(r.Layer.OutShape.String(), shapeW))
		}
		line += fmt.Sprintf("%*s", paramsW, network.Count(r.Params))
		lines = append(lines, fit(line, width))
	}
	if hidden > 0 {
		more := fmt.Sprintf(" … %d more", hidden)
		lines = append(lines, firstFit(width, more+" (mnist-tui summary)", more+": mnist-tui summary", more))
	}
	return append(lines, totals...)
}

// firstFit is the first of the wordings that fits width, else the last cut to it.
func firstFit(width int, wordings ...string) string {
	for _, w := range wordings {
		if ansi.StringWidth(w) <= width {
			return w
		}
	}
	return fit(wordings[len(wordings)-1], width)
}

// errorPointer shows the line of text the error is about with a caret
// under its column, so that a wrong network is found at a glance.
func errorPointer(err error, text string, width int) []string {
	var cerr *config.Error
	if !errors.As(err, &cerr) || cerr.Line < 1 {
		return nil
	}
	lines := strings.Split(text, "\n")
	if cerr.Line > len(lines) {
		return nil
	}
	// The line is the user's text, and may be the very line refused for
	// holding control characters: none of them reach the terminal.
	src := strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, lines[cerr.Line-1])
	col := max(1, cerr.Column)
	// Keep the column on screen: scroll the line left when it is long.
	shift := max(0, col-(width-4))
	if runes := []rune(src); shift > 0 && shift < len(runes) {
		src = string(runes[shift:])
		col -= shift
	}
	where := fmt.Sprintf("line %d, column %d:", cerr.Line, cerr.Column)
	return []string{where, fit(src, width), fit(strings.Repeat(" ", col-1)+"^", width)}
}

// fit cuts s to width cells, quoting nothing: s is the user's text, made
// printable by the caller or by config's messages.
func fit(s string, width int) string { return ansi.Truncate(s, max(1, width), "…") }

// networkChange is the network's line in the list of changes: the first
// layer that differs, by its index path, with the layer counts when they
// differ too. The whole network has no room there; the summary below it
// shows the rest.
func networkChange(old, new config.Config) string {
	if old.Network == nil || new.Network == nil {
		return change("network", networkLabel(old), networkLabel(new))
	}
	before := network.Summarize(old.Name, old.Network, old.BatchSize).Rows
	after := network.Summarize(new.Name, new.Network, new.BatchSize).Rows
	i := 0
	for i < len(before) && i < len(after) && before[i].Path == after[i].Path && before[i].Describe() == after[i].Describe() {
		i++
	}
	var what string
	switch {
	case i < len(before) && i < len(after) && before[i].Path == after[i].Path:
		what = "layer " + after[i].Path + ": " + before[i].Describe() + " → " + after[i].Describe()
	case i < len(after):
		what = "layer " + after[i].Path + " added: " + after[i].Describe()
	case i < len(before):
		what = "layer " + before[i].Path + " removed: " + before[i].Describe()
	default:
		what = "same layers" // only the output shapes upstream moved
	}
	if n, m := len(old.Network.Layers), len(new.Network.Layers); n != m {
		what += fmt.Sprintf(" (%d → %d layers)", n, m)
	}
	return "  network: " + what
}
