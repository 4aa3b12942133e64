package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// cacheCommand shows and clears what tracer keeps between sessions: the
// CPython layouts read from interpreters' DWARF, the kernel's symbol table
// and the symbol and line tables of ELF files (internal/cachedir.Kinds).
func cacheCommand() *cli.Command {
	dir := cachedir.Root()
	if dir == "" {
		dir = "(none: the user has no cache directory)"
	}
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear what tracer keeps between sessions",
		Description: "tracer keeps, so that later sessions skip reading them again:\n" +
			"  python-layouts/   the CPython frame layouts read from an interpreter's debug information,\n" +
			"                    one small file per interpreter build (by its build ID);\n" +
			"  kernel-symbols/   the kernel's text symbols read from /proc/kallsyms, valid for one boot\n" +
			"                    and one set of loaded modules (written again when either changes);\n" +
			"  debug-lines/      the function symbols and decoded source lines of the programs and\n" +
			"                    libraries sampled, and the inflated line programs of compressed debug\n" +
			"                    files (libc's): files per build (by its build ID), removed when not\n" +
			"                    used for 30 days.\n" +
			"They are in " + dir + "\n" +
			"(under $XDG_CACHE_HOME when it is set), readable by their owner only. Removing them is\n" +
			"always safe: 'tracer cache clear' removes these three directories.",
		Subcommands: []*cli.Command{
			{
				Name:  "dir",
				Usage: "print the cache directory",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, cachedir.Root())
					return nil
				},
			},
			{
				Name:  "clear",
				Usage: "remove what tracer keeps between sessions",
				Action: func(c *cli.Context) error {
					if err := cachedir.Clear(); err != nil {
						return fmt.Errorf("clear the cache: %w", err)
					}
					fmt.Fprintln(c.App.ErrWriter, "tracer: cleared", cachedir.Root())
					return nil
				},
			},
		},
	}
}
