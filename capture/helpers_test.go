package capture

import "time"

// sleepBrief waits a millisecond between two polls of /proc.
func sleepBrief() { time.Sleep(time.Millisecond) }
