// Package symbolize turns sampled addresses into frames: native ELF code
// (executables and shared libraries, PIE or not, placed through the mappings
// of each process), kernel code from /proc/kallsyms, and JIT code named in
// perf map files (/tmp/perf-PID.map, written by node and by python -X perf).
// It knows no interpreter's memory: interp/cpython names CPython's frames.
//
// # Processes and files
//
// A Symbolizer keeps, for every process it has heard of, the executable
// mappings announced by the sampler (AddMapping, from PERF_RECORD_MMAP2) or
// read from /proc/PID/maps (LoadProcMaps, for attach). Each mapped file is
// opened when its mapping is added and the open file is kept, so a process
// that has exited, or a library deleted or replaced since, still
// symbolizes; a file replaced on disk is read through /proc/PID/map_files
// while the process lives. Parsed objects are shared between processes:
// keyed by build ID when the file has one, otherwise by path and inode, so
// the same libpython is read once. The first address of a process that no
// known mapping covers makes the symbolizer read /proc/PID/maps once and add
// what the records did not announce.
//
// # Names
//
//   - ELF: function symbols of .symtab and .dynsym (sizes honoured, so a
//     stripped library names only its exported functions), PLT stubs as
//     "name@plt", C++ and Rust
//     names demangled without parameter lists, source file and line from
//     DWARF .debug_line when the file has it. A separate debug file found
//     by build ID under /usr/lib/debug/.build-id/ (Debian's -dbg packages)
//     adds the symbols and lines a stripped file lost.
//   - Go binaries: the .gopclntab function table, which survives stripping
//     (go run and go test strip symbols) and carries files and lines.
//   - [vdso]: this process's own vDSO image, which every process shares.
//   - Kernel: text symbols of /proc/kallsyms, with module names: the
//     whole table, or for a session's samples (PrepareKernel) only the
//     symbols of their addresses, kept in one read of the file. The
//     kernel image's and loaded modules' symbols are kept between sessions
//     in the user's cache directory, per boot and module set
//     (kallsyms_cache.go), and name the addresses they can answer for
//     exactly as the file would. The caller's own BPF programs, which
//     kallsyms lists only while they are loaded, are named from where the
//     kernel placed them (AddBPFCode).
//   - JIT: perf map lines "START SIZE name" for addresses that no file
//     symbol names (anonymous memory). Node's "JS:*transition /app.js:1:20"
//     becomes Function "transition", File "/app.js", Line 1; Python's
//     "py::qualname:/file.py" becomes Function "qualname", File "/file.py".
//     The map is re-read from where the last read stopped when it has grown.
//
// For `tracer run` of a node whose JS frames cannot be read from V8
// (interp/v8), WithNodeJIT adds NodeJITOptions to NODE_OPTIONS; for
// `tracer attach`, JITHint says in one line how to enable the map. A perf
// map line names only the samples taken after it was written, until a
// later line replaces it (UserStackAt, LookPerfMap).
//
// # Cost
//
// Results are cached per process and address: the work is done once per
// unique address, not once per sample (1M samples over 20k unique addresses
// of a node or python3 process: under a second, symbol tables included; see
// BenchmarkUserNode). An address nothing names is tried again on its 2nd,
// 4th, 8th… lookup, in case its perf map line came later.
//
// A file's tables are read on the first lookup that needs them: symbol
// tables raw (symtab.go: names are substrings of the string table, C++ names
// demangled only when a frame is returned; node's 79 000 function symbols in
// about 50 ms, BenchmarkReadSymbolsNode), DWARF line tables per compilation
// unit. Warm does that reading early, while the target runs, for the files
// its samples fall in, so that the lookups after the target has ended find
// the tables read.
//
// What that reading finds in a file with a build ID is kept between
// sessions in the user's cache directory (debug-lines/, one file per build
// and kind): the sorted function symbols, as addresses, sizes and offsets
// into the file's string tables (symtab_cache.go); each compilation unit's
// decoded line rows, added as units are first decoded (dwarf_rows_cache.go);
// and the inflated line programs of a compressed debug file, libc's
// (dwarf_lines_cache.go). A later session reads them instead of the tables:
// a session sampling a Python loop spends about 2 ms instead of 20 on
// libpython's symbols and lines (BenchmarkResolveLibpython), and node's
// symbols take about a tenth of their reading (BenchmarkFunctionSymbolsNode).
// Entries not used for 30 days are removed when a new one is written.
//
// Callers should symbolize a sample after the mapping records that precede
// it in time have been added (e.g. at the end of the session, or after
// ordering records by time): a sample looked up before its mapping arrives
// is named nothing. A caller that replays the records at the end calls
// Preload as each mapping record arrives, so files deleted or replaced
// before the end still symbolize. UserStack and KernelStack take perf callchains (leaf
// first) and look return addresses up one byte earlier.
//
// Fuzz targets: go test -fuzz FuzzELF -fuzzminimizetime 200x ./symbolize
// (also FuzzPerfMap, FuzzProcMaps); seeds are in testdata/fuzz.
//
// The package imports nothing else of this module but internal/cachedir,
// the cache directory's helpers.
package symbolize
