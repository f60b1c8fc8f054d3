package draw

import "strings"

// glyphRows is the height of a large digit.
const glyphRows = 5

// glyphs are the digits 0-9 in a 3x5 pixel font, '#' for ink.
var glyphs = [10][glyphRows]string{
	{"###", "# #", "# #", "# #", "###"},
	{" # ", "## ", " # ", " # ", "###"},
	{"###", "  #", "###", "#  ", "###"},
	{"###", "  #", "###", "  #", "###"},
	{"# #", "# #", "###", "  #", "  #"},
	{"###", "#  ", "###", "  #", "###"},
	{"###", "#  ", "###", "# #", "###"},
	{"###", "  #", "  #", "  #", "  #"},
	{"###", "# #", "###", "# #", "###"},
	{"###", "# #", "###", "  #", "###"},
}

// glyph draws class c (0-9) large: glyphRows lines, each font pixel two
// cells wide like the canvas's, so the digit looks square.
func glyph(c int) []string {
	lines := make([]string, glyphRows)
	if c < 0 || c >= len(glyphs) {
		return lines
	}
	for i, row := range glyphs[c] {
		var b strings.Builder
		for _, px := range row {
			if px == '#' {
				b.WriteString("██")
			} else {
				b.WriteString("  ")
			}
		}
		lines[i] = b.String()
	}
	return lines
}
