package dataset

import (
	"testing"
	"time"
)

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "0s",
		15 * time.Second:                "15s",
		42*time.Minute + 29*time.Second: "42m29s",
		3*time.Hour + 20*time.Minute:    "3h20m",
		48 * time.Hour:                  "2d",
		52*time.Hour + 59*time.Minute:   "2d4h",
		24*time.Hour + 30*time.Second:   "1d",
	} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%s) = %q, want %q", d, got, want)
		}
	}
}
