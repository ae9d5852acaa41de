//go:build !linux

package mi

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
