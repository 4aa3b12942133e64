package symbolize

import "debug/elf"

// BuildID returns the GNU build ID of f in hex, or "" when it has none.
func BuildID(f *elf.File) string { return buildID(f) }
