// Package symbolize turns sampled addresses into frames: native ELF code
// (executables and shared libraries, PIE or not, placed through the mappings
// of each process), kernel code from /proc/kallsyms, and JIT code named in
// perf map files (/tmp/perf-PID.map, written by node --perf-basic-prof and by
// python -X perf).
//
// A Symbolizer keeps, for every process it has heard of, the executable
// mappings announced by the sampler (PERF_RECORD_MMAP2) or read from
// /proc/PID/maps. Each mapped file is opened when its mapping is added and
// the open file is kept, so a process that has exited, or a library that has
// been deleted or replaced since, still symbolizes. Parsed objects are shared
// between processes: keyed by build ID when the file has one, otherwise by
// path and inode, so the same libpython is read once.
//
// Results are cached per process and address; the work is done once per
// unique address, not once per sample.
//
// The package imports nothing else of this module.
package symbolize
