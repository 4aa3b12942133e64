package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the tracer version and the libraries it was built with",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "tracer %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/cilium/ebpf", "github.com/elastic/go-perf", "github.com/google/pprof", "github.com/urfave/cli/v2":
						fmt.Fprintf(c.App.Writer, "  %s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}
