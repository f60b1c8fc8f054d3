package dashboard

// viewID names one full-screen view. Only the dashboard exists so far; a new
// view gets a constant here, a name in viewNames, and a case in Model.body.
// `tab` cycles through the views and `1`-`4` jump to one.
type viewID int

const (
	viewDashboard viewID = iota
)

var viewNames = [...]string{
	viewDashboard: "dashboard",
}

const viewCount = len(viewNames)

func (v viewID) String() string {
	if v < 0 || int(v) >= viewCount {
		return "unknown"
	}
	return viewNames[v]
}

// next is the view `tab` moves to.
func (v viewID) next() viewID { return (v + 1) % viewID(viewCount) }

// viewForKey maps "1".."4" to a view, reporting false for views that do not
// exist (yet).
func viewForKey(k string) (viewID, bool) {
	if len(k) != 1 || k[0] < '1' || k[0] > '9' {
		return 0, false
	}
	v := viewID(k[0] - '1')
	return v, int(v) < viewCount
}
