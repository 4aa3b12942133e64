package bpf

//go:generate go tool bpf2go -cc clang-19 -tags linux -target amd64 -go-package bpf Capture capture.bpf.c -- -I./headers -I/usr/include
