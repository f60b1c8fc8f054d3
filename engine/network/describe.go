package network

// Describe is the row's layer as the summary table names it, a PyTorch
// module with its settings: "Conv2d(1, 16, k=3, p=1)".
func (r Row) Describe() string { return describeLayer(r.Layer) }

// Count writes n with thousands separators, "--" for none, as the summary does.
func Count(n int) string { return count(n) }
