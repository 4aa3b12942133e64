package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/interp/cpython"
)

// cacheCommand shows and clears what tracer keeps between sessions: the
// CPython layouts read from interpreters' DWARF, by build ID.
func cacheCommand() *cli.Command {
	dir := cpython.LayoutCacheDir()
	if dir == "" {
		dir = "(none: the user has no cache directory)"
	}
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear what tracer keeps between sessions",
		Description: "tracer keeps the CPython frame layouts it reads from an interpreter's debug information,\n" +
			"one small file per interpreter build (by its build ID), so that later sessions skip that\n" +
			"read. They are in " + dir + "\n" +
			"(under $XDG_CACHE_HOME when it is set). Removing them is always safe: 'tracer cache clear',\n" +
			"or rm -rf that directory.",
		Subcommands: []*cli.Command{
			{
				Name:  "dir",
				Usage: "print the cache directory",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, cpython.LayoutCacheDir())
					return nil
				},
			},
			{
				Name:  "clear",
				Usage: "remove the cache directory",
				Action: func(c *cli.Context) error {
					if err := cpython.ClearLayoutCache(); err != nil {
						return fmt.Errorf("clear the cache: %w", err)
					}
					fmt.Fprintln(c.App.ErrWriter, "tracer: cleared", cpython.LayoutCacheDir())
					return nil
				},
			},
		},
	}
}
