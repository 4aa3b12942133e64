package bpf

//go:generate go tool bpf2go -cc clang-19 -tags linux -target amd64 -go-package bpf -type batch_hdr -type exec_event -type capture_counter -type batch_flag -type track_flag Capture capture.bpf.c -- -I./headers -I/usr/include
