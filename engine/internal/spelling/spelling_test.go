package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"linear", "linear", 0},
		{"", "abc", 3},
		{"linaer", "linear", 1}, // a swap of neighbours is one edit
		{"conv", "cnv", 1},
		{"conv", "convs", 1},
		{"conv", "cobv", 1},
		{"kitten", "sitting", 3},
		{"ünit", "unit", 1}, // counted in letters, not bytes
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"model", "epochs", "batch_size", "learning_rate", "seed"}
	for _, tt := range []struct{ name, want string }{
		{"modle", "model"},
		{"epoch", "epochs"},
		{"batchsize", "batch_size"},
		{"learning_rte", "learning_rate"},
		{"x", ""},                        // one edit allowed, but "seed" is four away
		{"sed", "seed"},                  // a short name still gets one edit
		{"learnin_rat", "learning_rate"}, // two edits within a third of 11 letters
		{"zzzzzzzzzzzzz", ""},            // never more than three edits
	} {
		if got := Nearest(tt.name, keys); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Nearest("abc", nil); got != "" {
		t.Errorf("Nearest with no candidates = %q, want \"\"", got)
	}
	if got := Nearest("ab", []string{"aa", "bb"}); got != "aa" {
		t.Errorf("a tie = %q, want the earlier candidate aa", got)
	}
}
