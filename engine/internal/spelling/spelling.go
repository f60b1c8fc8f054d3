// Package spelling finds the name a user most likely meant, for "did you mean" hints in the
// messages about configuration keys and network layers.
package spelling

// Nearest returns the candidate fewest edits away from name (the earlier one on a tie), or ""
// when even that one is too far to be a typo. A third of the name may be wrong, at least one
// and at most three edits: "modle" finds model, "x" finds nothing. name should already be
// normalized the way the candidates are written.
func Nearest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if d := Distance(name, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist >= 0 && bestDist <= min(max(len(name)/3, 1), 3) {
		return best
	}
	return ""
}

// Distance counts the insertions, deletions, substitutions and swaps of neighbouring letters
// that turn a into b (optimal string alignment).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
