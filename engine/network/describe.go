package network

import "fmt"

// Describe is the row's layer as the summary table names it, a PyTorch
// module with its settings: "Conv2d(1, 16, k=3, p=1)".
func (r Row) Describe() string { return describeLayer(r.Layer) }

// Short is the row's layer in fewer columns, for a narrow panel: "Conv 1→16 k3 p1",
// "Linear 1568→10", "GlobalAvgPool"; other layers as Describe names them.
func (r Row) Short() string {
	l := r.Layer
	switch l.Kind {
	case Conv:
		return fmt.Sprintf("Conv %d→%d", l.In[0], l.Out) + convSettings(l, true)
	case Linear:
		s := fmt.Sprintf("Linear %d→%d", l.In[0], l.Out)
		if !l.Bias {
			s += " no bias"
		}
		return s
	case GlobalAvgPool:
		return "GlobalAvgPool"
	}
	return describeLayer(l)
}

// Count writes n with thousands separators, "--" for none, as the summary does.
func Count(n int) string { return count(n) }
