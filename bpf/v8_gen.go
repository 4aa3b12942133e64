package bpf

//go:generate go tool bpf2go -cc clang-19 -tags linux -target amd64 -go-package bpf -type v8_event -type v8_config -type v8_frame V8 v8.bpf.c -- -I./headers -I/usr/include
