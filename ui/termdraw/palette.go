package termdraw

import "github.com/charmbracelet/lipgloss"

// The palette every page draws with: ANSI 256 indexes, so 256-colour
// terminals show exactly these and true-colour ones the same hues. One
// palette keeps the pages looking like one program.
const (
	Green  = lipgloss.Color("42")  // right answers, the best epoch
	Red    = lipgloss.Color("203") // wrong answers, errors
	Amber  = lipgloss.Color("214") // warnings, requests in flight, pauses
	Blue   = lipgloss.Color("75")  // section titles, loading
	Cyan   = lipgloss.Color("80")  // the loss curve, a finished run
	Violet = lipgloss.Color("141") // the program's name, the cursor
	Grey   = lipgloss.Color("245") // labels
	Dim    = lipgloss.Color("240") // separators and hints
	Black  = lipgloss.Color("16")
	White  = lipgloss.Color("231")
)
